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

__all__ = ["Claim", "CLAIMS", "SECTIONS", "VERDICTS", "SOURCES", "METHODS", "get", "ids", "by_section",
           "LANGS", "PROSE_FIELDS", "FORMULA_FIELDS", "ZH", "SECTIONS_ZH", "METHODS_ZH", "VERDICTS_ZH",
           "SOURCES_ZH", "section_title"]

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

#: The languages of the registry's prose; English is the dataclass, Chinese is ``ZH``.
LANGS = ("en", "zh")
#: The fields of a claim that a reader reads as prose (translated) ...
PROSE_FIELDS = ("title", "notes", "checked", "expected_note")
#: ... and its formulas (LaTeX, the same in every language).
FORMULA_FIELDS = ("notes_formula", "checked_formula")

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

    def text(self, field: str, lang: str = "en") -> str:
        """The prose ``field`` (one of ``PROSE_FIELDS``) in ``lang`` ("en" or "zh").

        English is the dataclass field; Chinese is ``ZH[id][field]``, present exactly
        when the English is non-empty (so an empty field is "" in both languages).
        Formulas (``FORMULA_FIELDS``) are LaTeX and the same in both languages.
        """
        if lang not in LANGS:
            raise ValueError(f"lang: {lang!r} is not one of {LANGS}")
        if field in FORMULA_FIELDS:
            return getattr(self, field)
        if field not in PROSE_FIELDS:
            raise ValueError(f"field: {field!r} is not one of {PROSE_FIELDS + FORMULA_FIELDS}")
        english = getattr(self, field)
        if lang == "en" or not english:
            return english
        return ZH[self.id][field]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(section=self.section, module=self.module,
                 zh={f: self.text(f, "zh") for f in PROSE_FIELDS if getattr(self, f)})
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
    _c("IS-9", 3, "The state-marginal ratio written as a ratio of policies",
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


def section_title(number: int, lang: str = "en") -> str:
    """The title of section ``number`` in ``lang``; ValueError naming the bad argument."""
    if lang not in LANGS:
        raise ValueError(f"lang: {lang!r} is not one of {LANGS}")
    if number not in SECTIONS:
        raise ValueError(f"number: {number!r} is not one of {list(SECTIONS)}")
    return (SECTIONS if lang == "en" else SECTIONS_ZH)[number]


# ---- 中文 (Chinese) ---------------------------------------------------------------------
# The same registry in the notes' language, written by hand (no machine translation at run
# time). tests/test_translations.py fails when a claim or a table lacks a Chinese text, or
# carries one the English does not have. As in English, ``notes`` restates what the notes
# say and the E2E claims say they are the suite's own checks.

SECTIONS_ZH: dict[int, str] = {
    1: "1. REINFORCE 算法",
    2: "2. 降低方差",
    3: "3. 异策略策略梯度",
    4: "4. 进阶策略梯度",
    5: "5. 端到端检验",
}

METHODS_ZH: dict[str, str] = {
    "S": "SymPy 符号推导",
    "X": "精确计算（枚举或动态规划）",
    "M": "蒙特卡洛检验（Monte Carlo），误报率事先给定",
    "H": "用 Hypothesis 在小型 MDP 上搜索反例",
    "E": "CartPole 端到端训练",
}

#: Short names of the expected verdicts, for ``label.expected`` (as the English shows the
#: id): 成立 = the notes are right; 勘误 = stated wrongly or too strongly; 精确化 = loose in the
#: notes, made exact here; 阴性对照 = shown false on purpose.
VERDICTS_ZH: dict[str, str] = {
    "holds": "成立",
    "erratum": "勘误",
    "sharpened": "精确化",
    "negative-control": "阴性对照",
}

SOURCES_ZH: dict[str, str] = {
    "notes": "讲义中的陈述",
    "ours": "本套件自己的检查，并非讲义中的陈述",
}

_E2E_OURS = "本套件自己的检查，讲义并未提及 CartPole："

ZH: dict[str, dict[str, str]] = {
    # ---- 1. REINFORCE 算法 ------------------------------------------------------------
    "PG-1": {
        "title": "对数导数技巧（log-derivative trick）",
        "notes": "由于概率密度的梯度等于密度本身乘以其对数的梯度，期望回报的梯度等于"
                 "轨迹得分（score）与回报之积的期望。",
        "checked": "对一般的分布族做符号推导成立：结果个数 n 任意（n 取为符号），各概率为任意"
                   "取正值的可微函数；固定区间上的概率密度同样成立（在积分号下求导，即通常的"
                   "正则性条件）。在有限 MDP 上，“得分乘回报”的期望与精确 J 的有限差分相等。",
    },
    "PG-2": {
        "title": "未知的初始状态项与环境转移项从得分中消去",
        "notes": "轨迹的对数概率是初始状态项、策略项与环境转移（dynamics）项之和；只有策略项"
                 "依赖参数，所以轨迹得分就是各时间步策略得分之和。",
        "checked": "用一般函数代表 p(s_1)、p(s_{t+1}|s_t,a_t) 和策略，对符号时域长度"
                   "（horizon）T 成立；在有限 MDP 上也精确成立。",
    },
    "PG-3": {
        "title": "REINFORCE 是无偏的，误差按 1/sqrt(N) 下降",
        "notes": "对 N 条采样轨迹的“得分乘回报”取平均，即可估计策略梯度（policy gradient）。",
        "checked": "估计量的精确均值等于精确梯度（无偏，unbiased），其均方根误差按 1/\u221aN "
                   "下降（这个速率是本套件补充的：讲义只诉诸大数定律）。",
    },
    "PG-4": {
        "title": "所有奖励同时加上一个常数",
        "notes": "给每个奖励都加上同一个常数（例如让所有奖励都变成正数），会改变样本推动策略的"
                 "方式：回报波动更大，方差（variance）变大，学习更困难。",
        "checked": "期望梯度不随 c 改变；估计量的总方差是 c 的二次函数，c\u00b2 的系数为正，在某个"
                   "平移量 c* 处取最小。平移增大方差，当且仅当它让 c 远离 c*，即 "
                   "|c \u2212 c*| > |c*|；当 c* > 0 时，把奖励整体增大不超过 2c* 反而会降低方差。",
        "expected_note": "讲义的直观图景（正向平移增大方差）只在平移让 c 远离 c* 时成立",
    },
    "PG-5": {
        "title": "朴素策略梯度是同策略（on-policy）的",
        "notes": "梯度是当前轨迹分布 p_\u03b8 下的期望，所以样本必须由当前策略采集：每次更新都"
                 "需要新的样本。",
        "checked": "不加重要性权重而直接复用旧策略的轨迹，估计的是 p_\u03b8old 下 "
                   "\u2207log p_\u03b8(\u03c4) r(\u03c4) 的期望，而不是 \u2207J(\u03b8)：在一个"
                   "有限 MDP 上给出了精确的偏差；按 p_\u03b8(\u03c4)/p_\u03b8old(\u03c4) 加权"
                   "（IS-3）即可消除这一偏差。",
        "expected_note": "对照是在同一批旧样本上使用重要性加权估计量（IS-3）：它是无偏的",
    },
    # ---- 2. 降低方差 -------------------------------------------------------------------
    "VR-1": {
        "title": "得分函数的均值为零",
        "notes": "对任意参数化分布，得分函数（score function）的期望为零，因为概率之和"
                 "（或积分）恒等于一。",
        "checked": "对支撑集不随 \u03b8 移动的所有分布成立（在通常的正则性条件下，即可以在积分号下"
                   "求导）：对任意大小的有限集上的每个正概率质量函数、固定区间上的每个正密度"
                   "（写成 q/\u222bq）以及每个指数族（此时 \u2207A = E[T]）都给出了证明。支撑集随 "
                   "\u03b8 移动时结论不成立：(0, \u03b8) 上的均匀分布有 E[score] = \u22121/\u03b8。"
                   "softmax（任意 k）、伯努利分布和高斯分布也分别单独检查。",
        "expected_note": "“任意分布”需要支撑集不依赖于 \u03b8；支撑集随 \u03b8 移动的均匀分布作为"
                         "例外给出",
    },
    "VR-2": {
        "title": "因果性：过去的奖励与当前得分不相关",
        "notes": "抽取 a_t 时，第 t 步之前得到的奖励已经确定，因此它们与 a_t 的得分之积期望为零。",
        "checked": "在有限 MDP 上对每个 t 精确成立，符号推导也成立。",
    },
    "VR-3": {
        "title": "未来回报（reward-to-go）是无偏的",
        "notes": "把总回报换成从第 t 步起的奖励之和，梯度估计量仍然无偏。",
        "checked": "在所有试过的有限 MDP 上，其精确均值都等于精确梯度。",
    },
    "VR-4": {
        "title": "未来回报总能降低方差",
        "notes": "由于求和的随机奖励变少了，使用未来回报必然降低梯度估计量的方差。",
        "checked": "一般情况下不成立：丢掉过去的奖励，也就丢掉了它们与当前得分的相关性，而这种"
                   "相关性可能恰好抵消噪声（例如每条轨迹上奖励之和都是同一个常数）。本套件给出"
                   "一个最小反例，并在一组固定种子抽取的随机小型 MDP 上表明：未来回报在其中超过 "
                   "90 % 的 MDP 上降低了总方差（置信度为 1 \u2212 10\u207b\u2076 的置信界；实测比例"
                   "记录在证据中，并取决于 MDP 的抽取方式）。",
    },
    "VR-5": {
        "title": "基线不引入偏差",
        "notes": "减去一个基线（baseline），最常见的是平均回报，梯度估计量仍然无偏。",
        "checked": "常数基线是无偏的，留一法（leave-one-out）均值也是；但用本批样本自身的均值作"
                   "基线是有偏的：其期望等于梯度乘以 (N\u22121)/N。",
        "expected_note": "对常数基线和留一法基线成立；对批均值基线是勘误（偏差为 (N\u22121)/N 倍）",
    },
    "VR-6": {
        "title": "使方差最小的基线",
        "notes": "令方差对基线的导数为零，得到最优常数基线，即以得分平方加权的回报平均；实践中"
                 "通常直接取平均回报。",
        "checked": "b* 对梯度的每个分量分别最优；平均回报并非最优，即使精确取为 E[r(\u03c4)]，也可能"
                   "增大总方差：这发生在少数随机小型 MDP 上，以 1 \u2212 10\u207b\u2076 的置信度表明其"
                   "比例介于 1 % 与 50 % 之间（实测比例记录在证据中，并取决于 MDP 的抽取方式）。",
        "expected_note": "同时给出平均回报基线反而增大方差的例子",
    },
    "VR-7": {
        "title": "依赖状态的基线",
        "notes": "基线可以依赖第 t 步的状态，而不会让梯度产生偏差。",
        "checked": "基线 b(s_t) 是无偏的；依赖动作的基线 b(s_t, a_t) 是有偏的（作为阴性对照，"
                   "negative control）。",
        "expected_note": "b(s_t, a_t) 是阴性对照：已证明有偏",
    },
    # ---- 3. 异策略策略梯度 -------------------------------------------------------------
    "IS-1": {
        "title": "重要性采样（importance sampling）恒等式",
        "notes": "p 下的期望可以用另一个分布 p\u0304 的样本来计算，只需给每个样本乘上权重 p/p\u0304。",
        "checked": "只要 p 的支撑集包含在 p\u0304 的支撑集之内就成立；没有这个条件则不成立"
                   "（阴性对照）。",
        "expected_note": "支撑集不覆盖时恒等式不成立：阴性对照",
    },
    "IS-2": {
        "title": "轨迹概率之比中环境转移项相消",
        "notes": "两条轨迹概率之比中，初始状态因子与转移因子在分子分母中完全相同而相消，只剩各步"
                 "策略比值的乘积。",
        "checked": "用一般符号表示环境动态时成立，在有限 MDP 上也精确成立。",
    },
    "IS-3": {
        "title": "异策略（off-policy）策略梯度",
        "notes": "用轨迹概率之比给同策略估计量加权，就能用 \u03c0_\u03b8 的样本得到新参数 "
                 "\u03b8' 处的梯度。",
        "checked": "在有限 MDP 上精确成立，蒙特卡洛检验也成立。",
    },
    "IS-4": {
        "title": "过去与未来的比值乘积",
        "notes": "第 t 步的梯度由两个乘积加权：到第 t 步为止的比值乘积（过去）和从 t 到 T 的比值"
                 "乘积（未来）。",
        "checked": "按讲义的写法，第 t 步的比值在两个乘积里都出现（被算了两次），使估计量有偏。"
                   "逐决策（per-decision）形式是无偏的：第 t 步的得分乘以到 t 为止的比值，其后"
                   "每个奖励 r_t′ 乘以到 t′ 为止的比值。",
        "expected_note": "勘误在于未来乘积的下标；更正后的形式成立",
    },
    "IS-5": {
        "title": "舍去未来的比值",
        "notes": "讲义舍去了未来比值的乘积（“future actions don't affect current weight”，即"
                 "未来的动作不影响当前的权重），并说为什么可以这样做留到后面的章节解释；此处没有"
                 "给出理由。",
        "checked": "这里检查的理由是通常的标准说法，并非讲义原文（本套件补充）：该估计量有偏，但 "
                   "\u03b8' 接近 \u03b8 时偏差很小，并且方差更低。偏差部分成立：估计量的精确均值"
                   "按旧策略评估未来（用 Q^\u03b8 代替 Q^\u03b8'），所以当 \u03b8' \u2192 \u03b8 时"
                   "偏差在一阶意义下消失。方差部分需要精确化：只是经常更低，并非总是更低，而且两个"
                   "策略相距越远越常更低（本套件断言：在随机小型 MDP 中方差更低的比例随策略距离"
                   "增大而上升，并报告实测比例和一个反例）。",
        "expected_note": "偏差：成立；方差：已精确化；理由采用标准说法（本套件补充），讲义将其"
                         "推迟到后文",
    },
    "IS-6": {
        "title": "重要性权重随时域长度爆炸",
        "notes": "每一步的比值只是稍稍偏离 1（1.1 或 0.9），连乘 100 步后就会变得极大或极小"
                 "（1.1^100），于是梯度的方差爆炸。",
        "checked": "轨迹权重的均值恰好为 1，而方差随 T 指数增长（在 T = 100 处精确计算，并报告"
                   "增长率）；1.1^100 是可能出现的最大权重，而不是典型值（其数值和概率记录在"
                   "证据中）。",
    },
    "IS-7": {
        "title": "过去的比值乘积近似于状态边缘分布之比",
        "notes": "第 t 步之前的比值乘积近似等于第 t 步的状态边缘分布之比。",
        "checked": "精确的说法是：给定 s_t 时，过去比值乘积的条件期望等于状态边缘分布之比；单个"
                   "乘积只是它的一个带噪声的估计。",
    },
    "IS-8": {
        "title": "舍去状态边缘分布之比只带来一阶误差",
        "notes": "两个策略接近时，只保留当前动作的比值、忽略状态边缘分布之比是可以接受的。",
        "checked": "替代目标（surrogate）的梯度在 \u03b8' = \u03b8 处等于 \u2207J；其取值误差恰好是"
                   "被舍去的状态边缘偏移项（性能差分引理，performance-difference lemma），关于策略"
                   "距离是二阶小量，并满足 TRPO 式的界。",
    },
    "IS-9": {
        "title": "状态边缘分布之比被写成了策略之比",
        "notes": "讲义把状态边缘分布之比写成了在某个状态上取值的两个策略之比。",
        "checked": "这是笔误：策略是给定状态时动作的分布，不是状态上的分布，所以 "
                   "\u03c0_\u03b8'(s)/\u03c0_\u03b8(s) 没有意义；本意是状态边缘分布之比 "
                   "p_\u03b8'(s_t)/p_\u03b8(s_t)，它依赖初始分布与环境动态，在 p_\u03b8 下"
                   "归一化，并等于过去比值乘积的条件期望（IS-7）。",
        "expected_note": "勘误（笔误）；检查的是正确的量",
    },
    # ---- 4. 进阶策略梯度 ---------------------------------------------------------------
    "NG-1": {
        "title": "欧氏信赖域给出普通梯度步",
        "notes": "在欧氏球内最大化线性化的目标，得到沿梯度方向的一步。",
        "checked": "成立（对拉格朗日条件做符号求解）。",
    },
    "NG-2": {
        "title": "KL 散度的二阶展开",
        "notes": "在二阶近似下，两个相近策略之间的 KL 散度等于参数变化量的费舍尔（Fisher）二次型。",
        "checked": "二次项前有一个 1/2 因子：KL 在 \u03b8' = \u03b8 处的黑塞矩阵（Hessian）等于 F，"
                   "KL 的两个方向都是如此。",
    },
    "NG-3": {
        "title": "费舍尔信息矩阵（Fisher information matrix）",
        "notes": "F 是得分外积的期望；它衡量策略对每个参数的敏感程度（\u03c3 很小的高斯分布，其均值"
                 "参数非常敏感）。",
        "checked": "F 也等于 log \u03c0 的黑塞矩阵之期望取负，是半正定的，对高斯分布的均值参数等于 "
                   "1/\u03c3\u00b2。",
    },
    "NG-4": {
        "title": "自然梯度（natural gradient）的步长",
        "notes": "在费舍尔范数约束下，最优解是沿 F\u207b\u00b9\u2207J 方向的一步。",
        "checked": "约束为 \u00bd(\u03b8'\u2212\u03b8)\u1d40F(\u03b8'\u2212\u03b8) \u2264 \u03b5 时，步长为 "
                   "\u03b1 = \u221a(2\u03b5 / \u2207J\u1d40F\u207b\u00b9\u2207J)；讲义的约束缺少 "
                   "\u00bd，步长因此相差 \u221a2 倍。",
        "expected_note": "常数与讲义的形式相差 \u221a2 倍（源于 NG-2）",
    },
    "NG-5": {
        "title": "自然梯度不依赖参数化方式",
        "notes": "普通梯度步依赖于策略的参数化方式；用 KL 来度量步长可以消除这种依赖。",
        "checked": "换一种参数化后，自然梯度步（在一阶意义下）仍以同样的方式改变策略；普通梯度步"
                   "则不然。",
    },
    "NG-6": {
        "title": "费舍尔矩阵求逆",
        "notes": "自然梯度把梯度乘以费舍尔矩阵的逆。",
        "checked": "对 softmax 策略，F 是奇异的（每个状态上都有 F\u00b71 = 0），所以 F\u207b\u00b9 "
                   "必须取伪逆或加阻尼，即 (F + \u03bbI)\u207b\u00b9；基于费舍尔-向量积的共轭梯度法"
                   "给出与显式求解相同的一步。",
    },
    "NG-7": {
        "title": "表格型 softmax 的自然梯度就是优势函数",
        "notes": "自然梯度按策略的几何结构对普通梯度重新缩放。",
        "checked": "对使用轨迹费舍尔矩阵的表格型 softmax 策略，F\u207a\u2207J 等于（每个状态相差一个"
                   "常数）优势函数（advantage）在访问 s 的各时间步上按访问概率加权的平均；因此"
                   "更新把 \u03c0(a|s) 乘以 exp(\u03b1 \u0100(s,a))。",
    },
    # ---- 5. 端到端检验 -----------------------------------------------------------------
    "E2E-1": {
        "title": "带基线的未来回报与自然梯度都能解决 CartPole",
        "notes": _E2E_OURS + "对讲义中两种算法做端到端运行：一是使用未来回报并以学习得到的"
                 "状态价值函数作基线的策略梯度（第 1–2 节），二是带 KL 约束的自然梯度（第 4 节）。",
        "checked": "在未用于调参的种子上，两个学习器在 CartPole-v1 上 100 个评估回合的贪心平均"
                   "回报都至少达到 475；朴素 REINFORCE（使用完整回报）达不到同一标准。",
    },
    "E2E-2": {
        "title": "方差缩减在训练中见效",
        "notes": _E2E_OURS + "讲义引入未来回报和基线是为了降低梯度估计的方差（第 2 节）；"
                 "本次运行在训练过程中测量这两者的效果，以及每个学习器所需的步数。",
        "checked": "在训练中，它们降低了实测的梯度方差，并且比朴素 REINFORCE 用更少的环境步数"
                   "达到阈值（在留出种子上取中位数，并给出离散程度）。",
    },
    "E2E-3": {
        "title": "带 KL 约束的自然梯度步",
        "notes": _E2E_OURS + "讲义用 KL 约束来确定自然梯度的步长（第 4 节）；本次运行测量每次"
                 "更新的 KL。",
        "checked": "在未用于调参的种子上，自然梯度学习器（对费舍尔-向量积用共轭梯度法）使每次"
                   "更新的实测 KL 都保持在目标 \u03b5 附近；若计算步长时漏掉二阶 KL 展开中的 "
                   "\u00bd、或步长长了 \u221a2 倍、或沿普通梯度方向走，都会偏离目标。",
    },
}
