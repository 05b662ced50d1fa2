"""Every word pgproofs shows a reader about its verdicts, as data.

One table, :data:`TEXT`, keyed by a dotted name; each value is a
``str.format`` template. The report page (``template.html`` has no prose of
its own), ``pgproofs claims`` and the ``reason`` of each claim in
``reports/evidence.json`` all read it, so a translation of the report
replaces the values of this table and touches no code. The claims' own texts
are in the registry, ``pgproofs/claims.py``.
"""

from __future__ import annotations

__all__ = ["LANGS", "LANG_NAMES", "TEXT", "TEXT_ZH", "text"]

#: The languages of the tables below (the same codes as ``pgproofs.claims.LANGS``).
LANGS = ("en", "zh")

TEXT: dict[str, str] = {
    # ---- a claim's status (pgproofs.verdict.STATUSES) --------------------------------
    "status.verified": "verified",
    "status.failed": "failed",
    "status.unverified": "unverified",

    # ---- the verdict a reader sees: registry `expected` x status x source -------------
    # Only a verified claim gets its expected verdict; a failed or unverified one says so.
    "verdict.holds": "verified",
    "verdict.erratum": "notes' statement refuted \u00b7 correction verified",
    "verdict.sharpened": "loose statement made exact \u00b7 verified",
    "verdict.negative-control": "shown false on purpose \u00b7 verified",
    "verdict.ours": "the suite's own check \u00b7 verified",
    "verdict.failed": "check failed \u00b7 not verified",
    "verdict.unverified": "not verified",
    "source.notes": "a statement of the notes",
    "source.ours": "the suite's own check, not a statement of the notes",

    # ---- labels beside a claim's statements ----------------------------------------------
    "label.notes": "The notes:",
    "label.ours": "What we check (not in the notes):",
    "label.corrected": "Corrected:",
    "label.sharpened": "Sharpened:",
    "label.checked": "Checked:",
    "label.reason": "Why not verified:",
    "label.expected": "expected: {expected}",

    # ---- why a claim is not verified (pgproofs.verdict.claim_status) ------------------
    "reason.absent": "no test ran: no test marked with it was collected",
    "reason.not_object": "the evidence entry is not a JSON object",
    "reason.no_tests": "no test is listed for it",
    "reason.results_mismatch": "the per-test results do not match the listed tests",
    "reason.outcome": "the evidence gives the outcome {outcome!r}",
    "reason.failures": "a failure is recorded",
    "reason.failed": "{n} of {total} tests did not pass: {detail}",
    "reason.incomplete": "{passed} of {total} tests ran and passed: {detail}",
    "reason.format": "the evidence file has format {format!r}, not {expected}: an older "
                     "pgproofs wrote it without recording unrun tests (run the tests again)",
    "reason.partial": "the run collected only {paths}, so tests of this claim elsewhere "
                      "were not looked for",
    "reason.collection_errors": "{n} test file(s) failed to collect ({files}), so tests of "
                                "this claim there did not run",
    "reason.collection_unknown": "no xdist worker reported what it collected, so the "
                                 "claim's full set of tests is unknown",
    "reason.stopped": "the run stopped early ({why})",
    "reason.interrupted": "the run was interrupted",
    "count.failed": "{n} failed",
    "count.error": "{n} errored in setup or teardown",
    "count.crashed": "{n} crashed its worker",
    "count.xfailed": "{n} failed (marked xfail)",
    "count.xpassed": "{n} passed while marked xfail (XPASS)",
    "count.skipped": "{n} skipped",
    "count.not run": "{n} not run",
    "count.deselected": "{n} deselected by {selection}",
    "count.unknown": "{n} with an unknown result",
    "selection.unknown": "the run's selection",
    # how the pieces above are joined into one reason (punctuation differs by language)
    "join.list": ", ",
    "join.clause": "; ",

    # ---- each test's outcome (pgproofs.verdict.TEST_OUTCOMES) ------------------------
    "outcome.passed": "passed",
    "outcome.failed": "failed",
    "outcome.error": "error",
    "outcome.crashed": "crashed",
    "outcome.xfailed": "xfailed",
    "outcome.xpassed": "xpassed",
    "outcome.skipped": "skipped",
    "outcome.not run": "not run",
    "outcome.deselected": "deselected",

    # ---- `pgproofs claims` ---------------------------------------------------------------
    "cli.id": "ID",
    "cli.status": "STATUS",
    "cli.verdict": "VERDICT",
    "cli.title": "TITLE",
    "cli.summary": "{n} claims: {verified} verified, {failed} failed, {unverified} unverified",
    "cli.no_evidence": "no evidence at {path}; every claim is unverified (run `pgproofs report`)",

    # ---- the report page (template.html) -----------------------------------------------
    "page.lang": "en",
    "page.title": "pgproofs report: the claims of the CS285 Lecture 5 policy-gradient notes",
    "page.heading": "pgproofs: the policy-gradient notes, checked",
    "page.lede": "Every claim of the CS285 Lecture 5 notes on policy gradients (REINFORCE, "
                 "variance reduction, off-policy gradients, the natural gradient) and the "
                 "suite's own end-to-end CartPole checks, each with a machine-checked verdict: "
                 "a SymPy derivation, an exact computation on small finite MDPs, a Monte Carlo "
                 "test with a stated false-alarm rate, a Hypothesis search for counterexamples, "
                 "or a training run. A claim counts as verified only when every test that "
                 "checks it ran and passed.",
    "aria.totals": "totals",
    "aria.sections": "sections",
    "totals.of": "of",
    "totals.claims": "claims",
    "meta.pgproofs": "pgproofs",
    "meta.rendered_by": "page rendered by {version}",
    "meta.commit": "commit",
    "meta.created": "checked on",
    "meta.python": "Python",
    "meta.libraries": "libraries",
    "meta.run": "test run",
    "meta.markexpr": "marker expression",
    "meta.workers": "{n} worker(s)",
    "meta.exitstatus": "exit status {status}",
    "meta.stopped": "stopped early: {why}",
    "meta.evidence": "evidence",
    "warn.markexpr": "This run selected tests with -m {markexpr}: a claim with a deselected "
                     "test shows as unverified. `pgproofs report` runs everything.",
    "warn.no_evidence": "The test run ended with exit status {status} and wrote no evidence: "
                        "every claim is unverified.",
    "toc.errata": "Errata and sharpened statements",
    "unknown.heading": "Unknown claim ids in the evidence",
    "unknown.intro": "The evidence names claims that the registry (pgproofs/claims.py) does not "
                     "know. They are not counted above: fix the test markers or the registry.",
    "unknown.outcome": "outcome {outcome}",
    "unknown.tests": "tests",
    "errata.heading": "Errata: where the notes are wrong",
    "errata.intro": "Each entry quotes the notes' statement, gives the verdict on it and the "
                    "corrected statement; the evidence is with the claim below.",
    "sharpened.heading": "Sharpened statements: right in spirit, loose in the letter",
    "claim.method": "method {methods}",
    "claim.expected_note": "Verdict: {note}.",
    "claim.failed_test": "Failed:",
    "claim.tests": "{n} test(s)",
    "claim.recheck": "Re-check:",
    "evidence.recorded_by": "recorded by",
    "evidence.counterexample": "Counterexample:",
    "bench.heading": "Benchmarks",
    "bench.intro": "Timings and comparisons from benchmarks/, measured separately from the "
                   "checks (they never change a claim's status); ratios compare against a "
                   "baseline measured in the same run.",
    "bench.measured": "measured {created}",
    "bench.targets_met": "targets met",
    "bench.targets_not_met": "targets not met",
    "bench.remeasure": "Re-measure:",
    "glance.heading": "Where the notes are wrong (errata):",
    "render.not_object": "the evidence item is not a JSON object",
    "render.failed": "could not render this {kind!r} item:",
    # ---- the tables of a counterexample (MDP and policies) --------------------------------
    "cx.field": "field",
    "cx.value": "value",
    "cx.name": "name",
    "cx.numbers": "numbers",
    "cx.initial": "initial state distribution p(s\u2081)",
    "cx.transitions": "transitions P(s' | s, a)",
    "cx.rewards": "rewards r(s, a)",
    "cx.policy": "policy \u03c0",
    "cx.behavior": "behaviour policy",
    "cx.probs": "{name}: probabilities \u03c0(a | s)",
    "cx.logits": "{name}: logits",
    "footer.methods": "Methods:",
    "footer.generated": "Generated by pgproofs {version} from the evidence of commit {commit}. "
                        "To cite, name the pgproofs version and this commit (see CITATION.cff).",
}


#: The same table in Chinese, the notes' language: exactly TEXT's keys and, per key, the
#: same ``{placeholders}`` (tests/test_translations.py checks both). Written by hand.
TEXT_ZH: dict[str, str] = {
    # ---- 论断的状态 ---------------------------------------------------------------------
    "status.verified": "已验证",
    "status.failed": "未通过",
    "status.unverified": "未验证",

    # ---- 读者看到的结论 -----------------------------------------------------------------
    "verdict.holds": "讲义说法成立 \u00b7 已验证",
    "verdict.erratum": "讲义原说法被推翻 \u00b7 更正已验证",
    "verdict.sharpened": "原说法不严谨，已精确化 \u00b7 已验证",
    "verdict.negative-control": "有意证明为假（阴性对照） \u00b7 已验证",
    "verdict.ours": "本套件自己的检查 \u00b7 已验证",
    "verdict.failed": "检查未通过 \u00b7 未验证",
    "verdict.unverified": "未验证",
    "source.notes": "讲义中的陈述",
    "source.ours": "本套件自己的检查，并非讲义中的陈述",

    # ---- 论断旁的标签 -------------------------------------------------------------------
    "label.notes": "讲义的说法：",
    "label.ours": "我们检查的内容（讲义中没有）：",
    "label.corrected": "更正后：",
    "label.sharpened": "精确表述：",
    "label.checked": "检查的内容：",
    "label.reason": "未验证的原因：",
    "label.expected": "预期结论：{expected}",

    # ---- 论断未获验证的原因 -------------------------------------------------------------
    "reason.absent": "没有运行任何测试：没有收集到标记了该论断的测试",
    "reason.not_object": "证据条目不是 JSON 对象",
    "reason.no_tests": "没有为它列出任何测试",
    "reason.results_mismatch": "逐个测试的结果与列出的测试不一致",
    "reason.outcome": "证据给出的结果是 {outcome!r}",
    "reason.failures": "记录到了失败",
    "reason.failed": "{total} 个测试中有 {n} 个未通过：{detail}",
    "reason.incomplete": "{total} 个测试中只有 {passed} 个运行并通过：{detail}",
    "reason.format": "证据文件的格式是 {format!r}，而不是 {expected}：它由旧版 pgproofs 写出，"
                     "没有记录未运行的测试（请重新运行测试）",
    "reason.partial": "本次运行只收集了 {paths}，因此没有查找该论断在别处的测试",
    "reason.collection_errors": "有 {n} 个测试文件收集失败（{files}），该论断在其中的测试没有运行",
    "reason.collection_unknown": "没有任何 xdist 工作进程报告它收集了哪些测试，因此该论断的"
                                 "全部测试未知",
    "reason.stopped": "运行提前停止（{why}）",
    "reason.interrupted": "运行被中断",
    "count.failed": "{n} 个失败",
    "count.error": "{n} 个在准备或清理阶段（setup/teardown）出错",
    "count.crashed": "{n} 个使其工作进程崩溃",
    "count.xfailed": "{n} 个失败（标记为 xfail）",
    "count.xpassed": "{n} 个在标记为 xfail 的情况下通过（XPASS）",
    "count.skipped": "{n} 个被跳过",
    "count.not run": "{n} 个未运行",
    "count.deselected": "{n} 个被 {selection} 排除",
    "count.unknown": "{n} 个结果未知",
    "selection.unknown": "本次运行的筛选条件",
    "join.list": "，",
    "join.clause": "；",

    # ---- 每个测试的结果 -----------------------------------------------------------------
    "outcome.passed": "通过",
    "outcome.failed": "失败",
    "outcome.error": "出错",
    "outcome.crashed": "崩溃",
    "outcome.xfailed": "预期失败（xfailed）",
    "outcome.xpassed": "意外通过（xpassed）",
    "outcome.skipped": "跳过",
    "outcome.not run": "未运行",
    "outcome.deselected": "被排除",

    # ---- `pgproofs claims` ---------------------------------------------------------------
    "cli.id": "编号",
    "cli.status": "状态",
    "cli.verdict": "结论",
    "cli.title": "标题",
    "cli.summary": "共 {n} 条论断：{verified} 条已验证，{failed} 条未通过，{unverified} 条未验证",
    "cli.no_evidence": "{path} 处没有证据；所有论断均未验证（请运行 `pgproofs report`）",

    # ---- 报告页面 -----------------------------------------------------------------------
    "page.lang": "zh-CN",
    "page.title": "pgproofs 报告：CS285 第 5 讲策略梯度讲义中的论断",
    "page.heading": "pgproofs：逐条检验策略梯度讲义",
    "page.lede": "CS285 第 5 讲策略梯度（policy gradient）讲义中的每一条论断（REINFORCE、方差缩减、"
                 "异策略梯度、自然梯度），以及本套件自己的 CartPole 端到端检查，都附有机器检验得出的"
                 "结论：SymPy 符号推导、小型有限 MDP 上的精确计算、误报率事先给定的蒙特卡洛检验、"
                 "用 Hypothesis 搜索反例，或一次完整的训练运行。只有检验某条论断的每个测试都运行并"
                 "通过，这条论断才算已验证。",
    "aria.totals": "总计",
    "aria.sections": "章节",
    "totals.of": "共",
    "totals.claims": "条论断",
    "meta.pgproofs": "pgproofs",
    "meta.rendered_by": "页面由 {version} 生成",
    "meta.commit": "提交",
    "meta.created": "检验时间",
    "meta.python": "Python",
    "meta.libraries": "依赖库",
    "meta.run": "测试运行",
    "meta.markexpr": "标记表达式",
    "meta.workers": "{n} 个工作进程",
    "meta.exitstatus": "退出状态 {status}",
    "meta.stopped": "提前停止：{why}",
    "meta.evidence": "证据",
    "warn.markexpr": "本次运行用 -m {markexpr} 筛选了测试：有测试被排除的论断会显示为未验证。"
                     "`pgproofs report` 会运行全部测试。",
    "warn.no_evidence": "测试运行以退出状态 {status} 结束，没有写出证据：所有论断均未验证。",
    "toc.errata": "勘误与精确化的表述",
    "unknown.heading": "证据中出现的未知论断编号",
    "unknown.intro": "证据里提到了注册表（pgproofs/claims.py）中没有的论断。它们不计入上面的统计："
                     "请修正测试标记或注册表。",
    "unknown.outcome": "结果 {outcome}",
    "unknown.tests": "测试",
    "errata.heading": "勘误：讲义有误之处",
    "errata.intro": "每一条先复述讲义的说法，再给出对它的结论和更正后的表述；证据见下文对应的论断。",
    "sharpened.heading": "精确化的表述：思路正确，字面不严谨",
    "claim.method": "方法 {methods}",
    "claim.expected_note": "结论：{note}。",
    "claim.failed_test": "未通过：",
    "claim.tests": "{n} 个测试",
    "claim.recheck": "重新检验：",
    "evidence.recorded_by": "记录自",
    "evidence.counterexample": "反例：",
    "bench.heading": "基准测试",
    "bench.intro": "来自 benchmarks/ 的计时与比较，与检验分开测量（从不改变论断的状态）；比值都是"
                   "相对于同一次运行中测得的基线。",
    "bench.measured": "测量于 {created}",
    "bench.targets_met": "达到目标",
    "bench.targets_not_met": "未达到目标",
    "bench.remeasure": "重新测量：",
    "glance.heading": "讲义中有误之处（勘误）：",
    "render.not_object": "证据条目不是 JSON 对象",
    "render.failed": "无法显示这条 {kind!r} 证据：",
    # ---- 反例的表格（MDP 与策略） ---------------------------------------------------------
    "cx.field": "字段",
    "cx.value": "值",
    "cx.name": "名称",
    "cx.numbers": "数值",
    "cx.initial": "初始状态分布 p(s\u2081)",
    "cx.transitions": "状态转移概率 P(s' | s, a)",
    "cx.rewards": "奖励 r(s, a)",
    "cx.policy": "策略 \u03c0",
    "cx.behavior": "行为策略",
    "cx.probs": "{name}：动作概率 \u03c0(a | s)",
    "cx.logits": "{name}：logits",
    "footer.methods": "方法：",
    "footer.generated": "由 pgproofs {version} 根据提交 {commit} 的证据生成。引用时请注明 pgproofs "
                        "版本和该提交（见 CITATION.cff）。",
}

_TABLES = {"en": TEXT, "zh": TEXT_ZH}


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The template ``TEXT[key]`` (``TEXT_ZH[key]`` for ``lang="zh"``) filled with ``fields``."""
    if lang not in _TABLES:
        raise ValueError(f"lang: {lang!r} is not one of {LANGS}")
    return _TABLES[lang][key].format(**fields)


#: Each language's name in itself, for the link from one edition of the report to another.
LANG_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}
