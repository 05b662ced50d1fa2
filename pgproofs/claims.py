"""The registry of the claims of the CS285 Lecture 5 notes that pgproofs checks.

One :class:`Claim` per id. The id is the claim's name everywhere: the
``@pytest.mark.claim(...)`` markers of the tests, ``reports/evidence.json``,
the HTML report and ``pgproofs claims``. Each entry says where the claim sits
in the notes, what the notes assert (restated, with its formula), what the
suite actually checks (the corrected statement when the notes are wrong or
loose), how it is checked and which verdict the mathematics leads us to
expect. The expected verdict is a description for readers; the suite must
establish it by measurement or derivation, never assume it.

Methods: S = SymPy derivation, X = exact computation (enumeration or dynamic
programming), M = Monte Carlo with a stated false-alarm rate, H = Hypothesis
search over small MDPs, E = end-to-end CartPole run.

Formulas are LaTeX strings that :func:`pgproofs.report.mathml.latex_to_mathml`
turns into MathML offline (with the latex2mathml library).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Claim", "CLAIMS", "SECTIONS", "VERDICTS", "SOURCES", "METHODS", "get", "ids", "by_section"]

SECTIONS: dict[int, str] = {
    1: "1. REINFORCE",
    2: "2. Reducing variance",
    3: "3. Off-policy policy gradients",
    4: "4. Advanced policy gradients",
    5: "5. End to end",
}

METHODS: dict[str, str] = {
    "S": "SymPy derivation",
    "X": "exact computation (enumeration or dynamic programming)",
    "M": "Monte Carlo with a stated false-alarm rate",
    "H": "Hypothesis search over small MDPs",
    "E": "end-to-end CartPole run",
}

#: holds: the notes are right; erratum: the notes state it wrongly or too
#: strongly; sharpened: loose in the notes, made exact here; negative-control:
#: a statement the suite shows to be false on purpose.
VERDICTS = ("holds", "erratum", "sharpened", "negative-control")

#: notes: a statement the notes make (restated); ours: a check the suite adds
#: that the notes never state (the CartPole runs); the report labels it so.
SOURCES = ("notes", "ours")

_MODULES = {
    1: "tests/claims/test_reinforce.py",
    2: "tests/claims/test_variance.py",
    3: "tests/claims/test_offpolicy.py",
    4: "tests/claims/test_natural.py",
    5: "tests/claims/test_cartpole.py",
}


@dataclass(frozen=True)
class Claim:
    """One checked claim of the notes.

    Attributes:
      id: the claim id, e.g. ``"VR-4"``.
      section_number: 1..5, the part of the notes (see ``SECTIONS``).
      title: a short name.
      notes: what the notes assert, restated in our own words.
      notes_formula: the notes' formula (LaTeX subset), or "".
      checked: the statement the suite checks; for an erratum or a sharpened
        claim this is the corrected statement.
      checked_formula: the corrected formula (LaTeX subset), or "".
      methods: method letters, a subset of ``METHODS``.
      expected: one of ``VERDICTS``.
      expected_note: what else the verdict involves (a mixed verdict, the
        negative control, the numbers to report).
      source: ``"notes"`` when the notes make the claim, ``"ours"`` when it is
        the suite's own check (see ``SOURCES``).
    """

    id: str
    section_number: int
    title: str
    notes: str
    notes_formula: str
    checked: str
    checked_formula: str
    methods: str
    expected: str
    expected_note: str = ""
    source: str = "notes"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source: {self.source!r} is not one of {SOURCES}")
        if self.section_number not in SECTIONS:
            raise ValueError(f"section_number: {self.section_number} is not one of {list(SECTIONS)}")
        if self.expected not in VERDICTS:
            raise ValueError(f"expected: {self.expected!r} is not one of {VERDICTS}")
        bad = set(self.methods) - set(METHODS)
        if not self.methods or bad:
            raise ValueError(f"methods: {self.methods!r} must be letters from {''.join(METHODS)}")

    @property
    def section(self) -> str:
        """The section title, e.g. ``"2. Reducing variance"``."""
        return SECTIONS[self.section_number]

    @property
    def module(self) -> str:
        """The test module that checks this claim (relative to the project root)."""
        return _MODULES[self.section_number]

    @property
    def is_correction(self) -> bool:
        """True when the notes need correcting (an erratum or a sharpened statement)."""
        return self.expected in ("erratum", "sharpened")

    @property
    def method_names(self) -> list[str]:
        return [METHODS[m] for m in self.methods]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(section=self.section, module=self.module)
        return d


def _c(id: str, sec: int, title: str, notes: str, notes_formula: str, checked: str,
       checked_formula: str, methods: str, expected: str, expected_note: str = "",
       source: str = "notes") -> Claim:
    return Claim(id, sec, title, notes, notes_formula, checked, checked_formula, methods,
                 expected, expected_note, source)


_ALL = [
    # ---- 1. REINFORCE -------------------------------------------------------------
    _c("PG-1", 1, "Log-derivative trick",
       "Because the gradient of a density equals the density times the gradient of its "
       "logarithm, the gradient of the expected return is the expectation of the "
       "trajectory score times the return.",
       r"\nabla_\theta p_\theta(\tau) = p_\theta(\tau) \nabla_\theta \log p_\theta(\tau),"
       r"\quad \nabla_\theta J(\theta) = \mathbb{E}_{\tau \sim p_\theta}"
       r"[\nabla_\theta \log p_\theta(\tau) \, r(\tau)]",
       "Holds symbolically for a general family: any number n of outcomes (n a symbol) with "
       "arbitrary positive differentiable probabilities, and a density on a fixed interval "
       "(differentiating under the integral sign, the usual regularity). On finite MDPs the "
       "expectation of score times return equals finite differences of the exact J.", "", "SX",
       "holds"),
    _c("PG-2", 1, "Unknown initial-state and dynamics terms drop out of the score",
       "The log-probability of a trajectory is a sum of initial-state, policy and dynamics "
       "terms; only the policy terms depend on the parameters, so the trajectory score is the "
       "sum of the per-step policy scores.",
       r"\nabla_\theta \log p_\theta(\tau) = \sum_{t=1}^{T} \nabla_\theta \log "
       r"\pi_\theta(a_t \mid s_t)",
       "Holds for generic functions standing for p(s_1), p(s_{t+1}|s_t,a_t) and the policy, "
       "for a symbolic horizon T, and exactly on finite MDPs.", "", "SX", "holds"),
    _c("PG-3", 1, "REINFORCE is unbiased with 1/sqrt(N) error",
       "Averaging score times return over N sampled trajectories estimates the policy "
       "gradient.",
       r"\hat g = \frac{1}{N} \sum_{i=1}^{N} \Big( \sum_{t=1}^{T} \nabla_\theta \log "
       r"\pi_\theta(a_{i,t} \mid s_{i,t}) \Big) \Big( \sum_{t=1}^{T} r(s_{i,t}, a_{i,t}) \Big)",
       "The estimator's exact mean equals the exact gradient and its root-mean-square error "
       "falls like 1/\u221aN (the rate is ours: the notes appeal to the law of large numbers).",
       r"\mathbb{E}[\hat g] = \nabla_\theta J(\theta), \quad "
       r"\sqrt{\mathbb{E}\|\hat g - \nabla_\theta J\|^2} \propto N^{-1/2}",
       "XM", "holds"),
    _c("PG-4", 1, "Shifting all rewards by a constant",
       "Adding the same constant to every reward (for example making all rewards positive) "
       "changes how the samples push the policy: the return fluctuates more, the variance "
       "grows and learning gets harder.",
       r"r'(s,a) = r(s,a) + c",
       "The expected gradient does not change with c, and the estimator's total variance is a "
       "quadratic in c with a positive c\u00b2 coefficient, smallest at a shift c*. A shift "
       "raises the variance exactly when it moves c away from c*, |c \u2212 c*| > |c*|; when "
       "c* > 0, making rewards larger by less than 2c* lowers it.",
       r"\mathbb{E}[\hat g_c] = \nabla_\theta J, \quad \mathrm{Var}(c) - \mathrm{Var}(0) = "
       r"\alpha \big((c - c^{*})^2 - c^{*2}\big), \ \alpha > 0",
       "SX", "sharpened",
       "the notes' picture (a positive shift raises the variance) holds only when the shift "
       "moves c away from c*"),
    _c("PG-5", 1, "Plain policy gradient is on-policy",
       "The gradient is an expectation under the current trajectory distribution p_\u03b8, so "
       "the samples must be drawn from the current policy: every update needs new samples.",
       r"\nabla_\theta J(\theta) = \mathbb{E}_{\tau \sim p_\theta(\tau)}"
       r"[\nabla_\theta \log p_\theta(\tau) \, r(\tau)]",
       "Reusing trajectories of an older policy without importance weights estimates "
       "E over p_\u03b8old of \u2207log p_\u03b8(\u03c4) r(\u03c4), not \u2207J(\u03b8): "
       "the exact bias is shown on a finite MDP; weighting by p_\u03b8(\u03c4)/p_\u03b8old(\u03c4) "
       "(IS-3) removes it.",
       r"\mathbb{E}_{\tau \sim p_{\theta_{\mathrm{old}}}}[\nabla_\theta \log p_\theta(\tau)"
       r" \, r(\tau)] \ne \nabla_\theta J(\theta)",
       "X", "holds",
       "the importance-weighted estimator (IS-3) on the same old samples is the control: "
       "unbiased"),
    # ---- 2. Reducing variance ----------------------------------------------------
    _c("VR-1", 2, "The score has mean zero",
       "For any parametrised distribution the expected score is zero, since the "
       "probabilities always sum (integrate) to one.",
       r"\mathbb{E}_{x \sim \pi_\theta}[\nabla_\theta \log \pi_\theta(x)] = 0",
       "Holds for every distribution whose support does not move with \u03b8, under the usual "
       "regularity (differentiation under the integral sign): shown for every positive pmf on "
       "a finite set of any size and every positive density on a fixed interval (written "
       "q/\u222bq), and for every exponential family, where \u2207A = E[T]. A support that "
       "moves with \u03b8 breaks it: the uniform on (0, \u03b8) has E[score] = \u22121/\u03b8. "
       "Softmax (any k), Bernoulli and Gaussian are checked separately too.",
       r"p = h \, e^{\eta \cdot T - A}: \ \mathbb{E}[\nabla \log p] = "
       r"\mathbb{E}[T] - \nabla A = 0", "SX", "holds",
       "'any distribution' needs a support that does not depend on \u03b8; the moving-support "
       "uniform is shown as the exception"),
    _c("VR-2", 2, "Causality: past rewards do not correlate with the current score",
       "Rewards collected before step t are fixed when a_t is drawn, so their product with "
       "the score of a_t has expectation zero.",
       r"\mathbb{E}\Big[\nabla_\theta \log \pi_\theta(a_t \mid s_t) \sum_{t'=1}^{t-1} "
       r"r(s_{t'}, a_{t'})\Big] = 0",
       "Holds exactly for every t on finite MDPs, and symbolically.", "", "SXH", "holds"),
    _c("VR-3", 2, "Reward-to-go is unbiased",
       "Replacing the total return by the rewards from step t onwards keeps the gradient "
       "estimator unbiased.",
       r"\hat g = \frac{1}{N} \sum_{i} \sum_{t=1}^{T} \nabla_\theta \log "
       r"\pi_\theta(a_{i,t} \mid s_{i,t}) \sum_{t'=t}^{T} r(s_{i,t'}, a_{i,t'})",
       "Its exact mean equals the exact gradient on every finite MDP tried.", "", "XH", "holds"),
    _c("VR-4", 2, "Reward-to-go always lowers the variance",
       "Because fewer random rewards are summed, reward-to-go necessarily lowers the variance "
       "of the gradient estimator.",
       r"\mathrm{tr}\,\mathrm{Cov}[\hat g_{\mathrm{rtg}}] \le "
       r"\mathrm{tr}\,\mathrm{Cov}[\hat g_{\mathrm{REINFORCE}}]",
       "False in general: dropping the past rewards also drops their correlation with the "
       "current score, which can cancel noise (e.g. rewards that sum to a constant along "
       "every trajectory). The suite gives a minimal counterexample, and shows on a seeded "
       "sample of random small MDPs that reward-to-go lowers the total variance in more than "
       "90 % of them (a 1 \u2212 10\u207b\u2076 confidence bound; the measured fraction is in the "
       "evidence and depends on how the MDPs are drawn).",
       r"\exists\, \mathcal{M}, \pi: \ \mathrm{tr}\,\mathrm{Cov}[\hat g_{\mathrm{rtg}}] > "
       r"\mathrm{tr}\,\mathrm{Cov}[\hat g_{\mathrm{REINFORCE}}]",
       "XH", "erratum"),
    _c("VR-5", 2, "Baselines are unbiased",
       "Subtracting a baseline, most commonly the average return, leaves the gradient "
       "estimator unbiased.",
       r"\hat g = \frac{1}{N} \sum_{i} \nabla_\theta \log p_\theta(\tau_i) [r(\tau_i) - b],"
       r"\quad b = \frac{1}{N} \sum_{i} r(\tau_i)",
       "A constant baseline is unbiased and so is the leave-one-out mean; the batch's own mean "
       "is biased: its expectation is the gradient times (N\u22121)/N.",
       r"\mathbb{E}[\hat g_{\bar r}] = \frac{N-1}{N} \nabla_\theta J(\theta), \quad "
       r"b_i = \frac{1}{N-1} \sum_{j \ne i} r(\tau_j) \Rightarrow "
       r"\mathbb{E}[\hat g] = \nabla_\theta J(\theta)",
       "SX", "erratum",
       "holds for a constant and a leave-one-out baseline; erratum for the batch-mean "
       "baseline (biased by the factor (N\u22121)/N)"),
    _c("VR-6", 2, "The variance-minimising baseline",
       "Setting the derivative of the variance to zero gives the optimal constant baseline, "
       "a score-weighted average of the returns; the plain average return is the usual "
       "practical choice.",
       r"b^{*} = \frac{\mathbb{E}[g(\tau)^2 r(\tau)]}{\mathbb{E}[g(\tau)^2]}, \quad "
       r"g(\tau) = \nabla_\theta \log p_\theta(\tau)",
       "b* is optimal per gradient component; the mean return is not optimal and, even taken "
       "exactly as E[r(\u03c4)], can increase the total variance: in a minority of random small "
       "MDPs, shown between 1 % and 50 % with 1 \u2212 10\u207b\u2076 confidence (the measured "
       "fraction is in the evidence and depends on how the MDPs are drawn).",
       "", "SXH", "holds",
       "also shows a case where the mean-return baseline increases the variance"),
    _c("VR-7", 2, "State-dependent baselines",
       "A baseline may depend on the state at step t without biasing the gradient.",
       r"\mathbb{E}[\nabla_\theta \log \pi_\theta(a_t \mid s_t) \, b(s_t)] = 0",
       "A baseline b(s_t) is unbiased; one that depends on the action, b(s_t, a_t), is biased "
       "(the negative control).",
       r"\mathbb{E}[\nabla_\theta \log \pi_\theta(a_t \mid s_t) \, b(s_t, a_t)] \ne 0",
       "XH", "holds", "b(s_t, a_t) is the negative control: shown biased"),
    # ---- 3. Off-policy policy gradients ------------------------------------------
    _c("IS-1", 3, "Importance sampling identity",
       "An expectation under p can be computed from samples of another distribution p\u0304 "
       "by weighting each sample with p/p\u0304.",
       r"\mathbb{E}_{x \sim \bar p}\Big[\frac{p(x)}{\bar p(x)} f(x)\Big] = "
       r"\mathbb{E}_{x \sim p}[f(x)]",
       "Holds whenever the support of p lies inside the support of p\u0304; fails without "
       "that condition (negative control).", "", "SX", "holds",
       "without support coverage the identity fails: negative control"),
    _c("IS-2", 3, "Dynamics cancel in the trajectory ratio",
       "In the ratio of two trajectory probabilities the initial-state and transition "
       "factors are the same above and below and cancel, leaving the product of policy "
       "ratios.",
       r"\frac{p_\theta(\tau)}{\bar p(\tau)} = \prod_{t=1}^{T} "
       r"\frac{\pi_\theta(a_t \mid s_t)}{\bar\pi(a_t \mid s_t)}",
       "Holds for generic symbols for the dynamics, and exactly on finite MDPs.", "", "SX",
       "holds"),
    _c("IS-3", 3, "Off-policy policy gradient",
       "Weighting the on-policy estimator by the trajectory ratio gives the gradient at new "
       "parameters \u03b8' from samples of \u03c0_\u03b8.",
       r"\nabla_{\theta'} J(\theta') = \mathbb{E}_{\tau \sim p_\theta}\Big["
       r"\frac{p_{\theta'}(\tau)}{p_\theta(\tau)} \nabla_{\theta'} \log \pi_{\theta'}(\tau)"
       r" \, r(\tau)\Big]",
       "Holds exactly on finite MDPs and by Monte Carlo.", "", "XM", "holds"),
    _c("IS-4", 3, "Past and future ratio products",
       "The gradient at step t is weighted by the product of ratios up to t (the past) and "
       "the product from t to T (the future).",
       r"\mathbb{E}\Big[\sum_{t=1}^{T} \nabla_{\theta'} \log \pi_{\theta'}(a_t \mid s_t) "
       r"\Big(\prod_{t'=1}^{t} \frac{\pi_{\theta'}}{\pi_\theta}\Big) \Big(\sum_{t'=1}^{T} "
       r"r_{t'}\Big) \Big(\prod_{t''=t}^{T} \frac{\pi_{\theta'}}{\pi_\theta}\Big)\Big]",
       "As written, the ratio at step t appears in both products (counted twice), which "
       "biases the estimator. The per-decision form is unbiased: the score at t times the "
       "ratios up to t, and each later reward r_t′ weighted by the ratios up to t′.",
       r"\mathbb{E}\Big[\sum_{t=1}^{T} \nabla_{\theta'} \log \pi_{\theta'}(a_t \mid s_t) "
       r"\sum_{t'=t}^{T} r_{t'} \prod_{k=1}^{t'} \frac{\pi_{\theta'}(a_k \mid s_k)}"
       r"{\pi_\theta(a_k \mid s_k)}\Big] = \nabla_{\theta'} J(\theta')",
       "X", "erratum", "erratum in the index of the future product; the corrected form holds"),
    _c("IS-5", 3, "Dropping the future ratios",
       "The notes drop the product of future ratios (\u201cfuture actions don't affect current "
       "weight\u201d) and say that why this is allowed will be explained in a later section; "
       "they give no reason here.",
       r"\hat g = \sum_{t=1}^{T} \nabla_{\theta'} \log \pi_{\theta'}(a_t \mid s_t) "
       r"\Big(\prod_{t'=1}^{t} \frac{\pi_{\theta'}}{\pi_\theta}\Big) \hat Q_t",
       "The justification checked here is the standard one, not the notes' text (ours): the "
       "estimator is biased, but only a little when \u03b8' is close to \u03b8, and it has "
       "lower variance. The bias part holds: the estimator's exact mean values the future "
       "under the old policy (Q^\u03b8 in place of Q^\u03b8'), so the bias vanishes to first "
       "order as \u03b8' \u2192 \u03b8. The variance part is sharpened: lower only often, "
       "not always, and more often the farther apart the policies are (the suite asserts that "
       "the fraction of random small MDPs where it is lower rises with the policy distance, "
       "and reports the measured fractions and a counterexample).",
       r"\mathrm{bias}(\theta') = O(\|\theta' - \theta\|), \quad "
       r"\mathrm{Var}[\hat g_{\mathrm{drop}}] \le \mathrm{Var}[\hat g] "
       r"\ \text{not always}",
       "XM", "sharpened",
       "bias: holds; variance: sharpened; the justification is the standard one (ours), the "
       "notes defer it"),
    _c("IS-6", 3, "Importance weights blow up with the horizon",
       "A product of per-step ratios that are each only slightly off 1 (1.1 or 0.9) becomes "
       "huge or tiny over 100 steps (1.1^100), so the gradient's variance explodes.",
       r"1.1^{100}",
       "The trajectory weight has mean exactly 1 while its variance grows exponentially with "
       "T (exact at T = 100, with the growth rate reported); 1.1^100 is the largest weight, "
       "not a typical one (its value and probability are in the evidence).",
       r"\mathbb{E}[w_{1:T}] = 1, \quad \mathrm{Var}[w_{1:T}] = \Theta(\rho^{T}), "
       r"\ \rho > 1", "X", "holds"),
    _c("IS-7", 3, "Past ratios approximate the state-marginal ratio",
       "The product of ratios before step t approximately equals the ratio of the state "
       "marginals at step t.",
       r"\prod_{k=1}^{t-1} \frac{\pi_{\theta'}(a_k \mid s_k)}{\pi_\theta(a_k \mid s_k)} "
       r"\approx \frac{p_{\theta'}(s_t)}{p_\theta(s_t)}",
       "Exactly: the conditional expectation of the past product given s_t equals the "
       "state-marginal ratio; a single product is only a noisy estimate of it.",
       r"\mathbb{E}_{\tau \sim p_\theta}\Big[\prod_{k=1}^{t-1} "
       r"\frac{\pi_{\theta'}(a_k \mid s_k)}{\pi_\theta(a_k \mid s_k)} \,\Big|\, s_t\Big] = "
       r"\frac{p_{\theta'}(s_t)}{p_\theta(s_t)}", "X", "sharpened"),
    _c("IS-8", 3, "Dropping the state-marginal ratio is first order",
       "Keeping only the current action's ratio and ignoring the state-marginal ratio is "
       "acceptable when the two policies are close.",
       r"W_t \approx \frac{\pi_{\theta'}(a_t \mid s_t)}{\pi_\theta(a_t \mid s_t)}",
       "The surrogate's gradient equals \u2207J at \u03b8' = \u03b8; its value error is "
       "exactly the dropped state-marginal shift term (performance-difference lemma), second "
       "order in the policy distance, and within a TRPO-style bound.", "", "XS", "holds"),
    _c("IS-9", 3, "The state-marginal ratio is not a policy ratio",
       "The notes write the ratio of state marginals as a ratio of policies evaluated at a "
       "state.",
       r"\frac{\pi_{\theta'}(s)}{\pi_\theta(s)} = \frac{p_{\theta'}(s_t)}{p_\theta(s_t)}",
       "A typo: a policy is a distribution over actions given the state, not over states, so "
       "\u03c0_\u03b8'(s)/\u03c0_\u03b8(s) has no meaning; the quantity meant is the ratio "
       "of the state marginals p_\u03b8'(s_t)/p_\u03b8(s_t), which depends on the initial "
       "distribution and the dynamics, is normalised under p_\u03b8, and equals the "
       "conditional expectation of the past ratio product (IS-7).",
       r"\frac{p_{\theta'}(s_t)}{p_\theta(s_t)} = \mathbb{E}_{\tau \sim p_\theta}\Big["
       r"\prod_{k=1}^{t-1} \frac{\pi_{\theta'}(a_k \mid s_k)}{\pi_\theta(a_k \mid s_k)} "
       r"\,\Big|\, s_t\Big], \quad \sum_a \pi_\theta(a \mid s) = 1", "SX", "erratum",
       "erratum (typo); the correct quantity is checked"),
    # ---- 4. Advanced policy gradients --------------------------------------------
    _c("NG-1", 4, "Euclidean trust region gives the plain gradient step",
       "Maximising the linearised objective inside a Euclidean ball gives a step along the "
       "gradient.",
       r"\theta' - \theta = \frac{1}{2\lambda} \nabla_\theta J(\theta) \ \text{solves} \ "
       r"\max_{\theta'} (\theta' - \theta)^{\top} \nabla_\theta J \ \text{s.t.}\ "
       r"\|\theta' - \theta\|^2 \le \epsilon",
       "Holds (Lagrange conditions solved symbolically).", "", "S", "holds"),
    _c("NG-2", 4, "Second-order expansion of the KL divergence",
       "To second order, the KL divergence between nearby policies is the Fisher quadratic "
       "form of the parameter change.",
       r"D_{\mathrm{KL}}(\pi_{\theta'} \| \pi_\theta) \approx "
       r"(\theta' - \theta)^{\top} F (\theta' - \theta)",
       "The quadratic term carries a factor one half: the Hessian of the KL at \u03b8' = "
       "\u03b8 equals F, in both directions of the KL.",
       r"D_{\mathrm{KL}}(\pi_{\theta'} \| \pi_\theta) = \frac{1}{2} (\theta' - \theta)^{\top} "
       r"F (\theta' - \theta) + O(\|\theta' - \theta\|^3)", "SX", "erratum"),
    _c("NG-3", 4, "Fisher information matrix",
       "F is the expected outer product of the score; it measures how sensitive the policy "
       "is to each parameter (a Gaussian mean with small \u03c3 is very sensitive).",
       r"F = \mathbb{E}_{\pi_\theta}[\nabla_\theta \log \pi_\theta(a \mid s) "
       r"\nabla_\theta \log \pi_\theta(a \mid s)^{\top}]",
       "F also equals minus the expected Hessian of log \u03c0, is positive semi-definite, "
       "and is 1/\u03c3\u00b2 for a Gaussian mean.",
       r"F = -\mathbb{E}[\nabla_\theta^2 \log \pi_\theta] \succeq 0, \quad "
       r"F_{\mu\mu} = \frac{1}{\sigma^2}", "SX", "holds"),
    _c("NG-4", 4, "Natural gradient step size",
       "Under a Fisher-norm constraint the solution is a step along F\u207b\u00b9\u2207J.",
       r"\theta' = \theta + \alpha F^{-1} \nabla_\theta J(\theta)",
       "With the constraint \u00bd(\u03b8'\u2212\u03b8)\u1d40F(\u03b8'\u2212\u03b8) \u2264 "
       "\u03b5 the step length is \u03b1 = \u221a(2\u03b5 / \u2207J\u1d40F\u207b\u00b9\u2207J); "
       "the notes' constraint without the \u00bd changes it by \u221a2.",
       r"\alpha = \sqrt{\frac{2\epsilon}{\nabla_\theta J^{\top} F^{-1} \nabla_\theta J}}",
       "SX", "holds", "the constant differs from the notes' form by \u221a2 (because of NG-2)"),
    _c("NG-5", 4, "Natural gradient is parametrisation invariant",
       "The plain gradient step depends on how the policy is parametrised; measuring steps "
       "by KL removes that dependence.",
       r"\theta \leftarrow \theta + \alpha F^{-1} \nabla_\theta J(\theta)",
       "The natural-gradient step moves the policy the same way (to first order) under a "
       "reparametrisation; the plain step does not.", "", "SX", "holds"),
    _c("NG-6", 4, "Inverting the Fisher matrix",
       "The natural gradient multiplies the gradient by the inverse Fisher matrix.",
       r"\theta_{\mathrm{new}} = \theta_{\mathrm{old}} + \alpha F^{-1} \nabla_\theta J(\theta)",
       "For a softmax policy F is singular (F\u00b71 = 0 in every state), so F\u207b\u00b9 must "
       "be a pseudo-inverse or damped, (F + \u03bbI)\u207b\u00b9; conjugate gradient on "
       "Fisher-vector products gives the same step as the explicit solve.",
       r"F \mathbf{1}_s = 0, \quad \Delta\theta = F^{+} \nabla_\theta J \ \text{or} \ "
       r"(F + \lambda I)^{-1} \nabla_\theta J", "SX", "sharpened"),
    _c("NG-7", 4, "Natural gradient of a tabular softmax is the advantage",
       "The natural gradient rescales the plain gradient by the policy's geometry.",
       r"F^{-1} \nabla_\theta J(\theta)",
       "For a tabular softmax policy with the trajectory Fisher matrix, F\u207a\u2207J equals "
       "(up to a constant per state) the advantage averaged over the time steps at which s is "
       "visited, weighted by the visit probabilities; so the update multiplies \u03c0(a|s) by "
       "exp(\u03b1 \u0100(s,a)).",
       r"(F^{+} \nabla_\theta J)_{s,a} = \bar A(s,a) + c_s, \quad "
       r"\pi'(a \mid s) \propto \pi(a \mid s) \exp(\alpha \bar A(s,a))", "XS", "holds"),
    # ---- 5. End to end -------------------------------------------------------------
    _c("E2E-1", 5, "Reward-to-go with a baseline, and natural gradient, solve CartPole",
       "Ours, not the notes' (they never mention CartPole): an end-to-end run of two of the "
       "notes' algorithms, the policy gradient with reward-to-go and a learned state-value "
       "baseline (sections 1-2) and the KL-constrained natural gradient (section 4).", "",
       "Both learners reach a greedy mean return of at least 475 over 100 evaluation episodes "
       "on CartPole-v1, on seeds the defaults were not tuned on; vanilla REINFORCE (full "
       "return) fails the same criterion.", r"\bar R_{100} \ge 475", "E", "holds",
       source="ours"),
    _c("E2E-2", 5, "Variance reduction pays off in training",
       "Ours, not the notes' (they never mention CartPole): the notes introduce reward-to-go "
       "and baselines to lower the variance of the gradient estimate (section 2); this run "
       "measures both during training, and the steps each learner needs.", "",
       "During training they lower the measured gradient variance and reach the threshold "
       "in fewer environment steps than vanilla REINFORCE (medians over held-out seeds, with "
       "spread).", "", "EM", "holds", source="ours"),
    _c("E2E-3", 5, "KL-constrained natural-gradient steps",
       "Ours, not the notes' (they never mention CartPole): the notes size the natural-gradient "
       "step by a KL constraint (section 4); this run measures each update's KL.",
       r"D_{\mathrm{KL}}(\pi_{\theta'} \| \pi_\theta) \le \epsilon",
       "The natural-gradient learner (conjugate gradient on Fisher-vector products) keeps the "
       "measured KL of each update near the target \u03b5, on seeds the defaults were not "
       "tuned on; steps sized without the \u00bd of the second-order KL, or \u221a2 too long, "
       "or along the plain gradient, miss it.", "", "E", "holds", source="ours"),
]

CLAIMS: dict[str, Claim] = {c.id: c for c in _ALL}
if len(CLAIMS) != len(_ALL):  # pragma: no cover - guards against a copy-paste id
    raise RuntimeError("duplicate claim id in the registry")


def ids() -> list[str]:
    """Every claim id, in the order of the notes."""
    return list(CLAIMS)


def get(claim_id: str) -> Claim:
    """The claim with this id; ValueError naming the id when it is unknown."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise ValueError(f"claim_id: unknown claim id {claim_id!r}") from None


def by_section() -> dict[str, list[Claim]]:
    """Claims grouped by section title, in the order of the notes."""
    out: dict[str, list[Claim]] = {title: [] for title in SECTIONS.values()}
    for c in CLAIMS.values():
        out[c.section].append(c)
    return out
