"""Principal-wide documents: have chosen globs checked, reuse proofs, answer new callers (speed part).

Nothing here is trusted for soundness. ``iam.choice`` picks Allows and carve-out Denies over the classes
of requests from the candidate globs (``Policy.allowed_routes`` and the API's table); each proof
(:func:`_prove_within`) charges a work budget, and the rendered result then goes through
:func:`~cognito_authz.iam.check.check_document` and only a document the check calls sound is ever
returned. A wrong choice costs completeness (a request ``decide`` allows that the cached answer
refuses), never soundness. The argument is in ``docs/architecture.md``, "Cached authorizer answers are
exact".
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Callable, Mapping
from threading import Lock
from typing import Any, Literal

from cognito_authz._frozen import Frozen, set_field
from cognito_authz._log import get_logger
from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.caller_key import LAST_FACTS, caller_key, last_facts, new_caller_key
from cognito_authz.iam.check import ESCAPED_PATHS, check_document
from cognito_authz.iam.choice import Glob, assemble, choose, grant_guess
from cognito_authz.iam.classes import Budget, BudgetExceeded
from cognito_authz.iam.document import (
    Statement,
    document_matcher,
    document_size,
    iam_allows,
    policy_document,
)
from cognito_authz.iam.path_class import FRESH_LAST, classes_tell, fresh_segment
from cognito_authz.iam.renaming import (
    AnswerTemplate,
    Renaming,
    RenderPlan,
    rename,
    render,
    swap_of,
)
from cognito_authz.iam.world import (
    binding_count,
    policy_facts,
)
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal, derived_answers

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_RESOURCE_LENGTH",
    "WORK_BUDGET",
    "PolicyResult",
    "authorizer_answer",
    "build_principal_policy",
    "clear_memo",
    "request_policy",
]

logger = get_logger("cognito_authz.iam")

#: Default ceiling for a document (compact JSON bytes); API Gateway bounds the whole authorizer response.
DEFAULT_MAX_BYTES = 8192
#: API Gateway limits each ``Resource`` in an authorizer policy to 512 characters.
MAX_RESOURCE_LENGTH = 512
#: Work units for one proof (choice and check together): a hard cap on time and memory per invocation.
WORK_BUDGET = 25_000
# What each step of a proof is charged, in units of about a microsecond each on the machine the bench
# runs on (measured per site by attributing the time between charges to the earlier one; the scan in
# bench/iam_worst_tokens.py then checks the total per unit over the hostile token shapes and the
# examples). A charge is taken before its work is done, so running out stops the work, not the answer.
# Per parameter binding Policy.allowed_routes enumerates (world.binding_count): about 20 us each.
_BINDING = 30
# Per byte of a rendered document: the check compiles its Resources into two evaluators (about 0.5 us
# a byte each, the parse of long alternations).
_UNITS_PER_BYTE = 1
# Choose-and-check rounds per proof (each failed check adds its counterexample to the next choice).
_ROUNDS = 4

Scope = Literal["principal", "request"]


class PolicyResult(Frozen):
    """A document and how far it may be cached.

    ``scope="principal"``: checked sound for every routable request of this token, so safe to cache per
    token; ``exact`` says whether it also allows everything ``decide`` allows (if not, ``reason`` is
    ``inexact`` and ``rules`` names the rules it could not express; the current request is always
    answered as ``decide`` answers it). ``scope="request"``: it covers the current ARN only; ``reason``
    is ``analysis_budget``, ``self_check_failed``, ``too_large``, ``escaped_path``, ``not_routable`` or
    ``carve_out``.
    """

    __slots__ = ("detail", "document", "exact", "reason", "rules", "scope", "size")
    document: dict[str, Any]
    scope: Scope
    reason: str
    size: int
    detail: str
    rules: tuple[str, ...]
    exact: bool

    def __init__(
        self,
        document: dict[str, Any],
        scope: Scope,
        reason: str,
        size: int,
        detail: str = "",
        rules: tuple[str, ...] = (),
        exact: bool = False,
    ) -> None:
        set_field(self, "document", document)
        set_field(self, "scope", scope)
        set_field(self, "reason", reason)
        set_field(self, "size", size)
        set_field(self, "detail", detail)
        set_field(self, "rules", rules)
        set_field(self, "exact", exact)


# --- proofs, memo ----------------------------------------------------------------------------------------


class _Proof(Frozen):
    __slots__ = ("allows", "detail", "document", "exact", "plan", "reason", "rules", "units")
    document: dict[str, Any] | None  # None: no checked document (reason says why)
    exact: bool
    reason: str
    detail: str
    rules: tuple[str, ...]
    # IAM's verdict on one ARN under `document` (iam_allows' semantics; compiled on its second use, see
    # _later_compiled); for a rendered proof, the stand-in's evaluator read through σ (renaming.rename).
    allows: Callable[[str], bool] | None
    plan: RenderPlan | None  # renaming.render of `document`, prepared once
    units: int  # work units the proof spent (all of them when it ran out); read by bench/

    def __init__(
        self,
        document: dict[str, Any] | None,
        exact: bool,
        reason: str,
        detail: str,
        rules: tuple[str, ...],
        allows: Callable[[str], bool] | None = None,
        plan: RenderPlan | None = None,
        units: int = 0,
    ) -> None:
        set_field(self, "document", document)
        set_field(self, "exact", exact)
        set_field(self, "reason", reason)
        set_field(self, "detail", detail)
        set_field(self, "rules", rules)
        set_field(self, "allows", allows)
        set_field(self, "plan", plan)
        set_field(self, "units", units)


def _prove(policy: Policy, principal: Principal, prefix: str, budget_units: int) -> _Proof:
    """:func:`_prove_within` with the cyclic garbage collector paused.

    A proof allocates many small tuples, sets and dicts that live until it returns; the collector's
    passes over them (and over everything else the process holds) cost up to half again the proof's own
    time, and when they run depends on the rest of the process, so a work unit would not mean a bounded
    time. Nothing a proof allocates is a reference cycle, so reference counting frees it all; memory
    stays bounded by the work budget. The collector is resumed only if it was running.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _prove_within(policy, principal, prefix, budget_units)
    finally:
        if paused:
            gc.enable()


def _prove_within(policy: Policy, principal: Principal, prefix: str, budget_units: int) -> _Proof:
    """Choose, render, check; a request the check finds wrongly allowed is fed back to the choice
    (a few rounds), so the check's counterexamples teach the guess what the classes it saw missed."""
    facts = policy_facts(policy)
    budget = Budget(budget_units)
    extra: dict[str, set[str]] = {}
    try:
        # Charged up front, before Policy.allowed_routes enumerates bindings: a token of long list
        # claims bound to many parameters runs out here, in microseconds.
        budget.spend(_BINDING * binding_count(policy, principal))
        granted = policy.allowed_routes(principal)
        # First the grants read as globs, with nothing judged (an admin's ANY /{proxy+}, a reader's
        # routes); only when the check finds that guess wrong or short, the choice over the classes.
        guess = grant_guess(facts, granted, budget)
        deny: list[Glob]
        missed: tuple[str, ...]
        for _round in range(_ROUNDS + (guess is not None)):
            guessed = guess is not None
            if guess is not None:
                (allow, deny), missed, guess = guess, (), None
            else:
                allow, deny, missed = choose(policy, facts, principal, granted, budget, extra)
            document = assemble(prefix, allow, deny)
            # The check compiles the document's Resources (two evaluators); its size is known before.
            budget.spend(document_size(document) * _UNITS_PER_BYTE)
            verdict = check_document(policy, principal, document, prefix, budget)
            if verdict.sound and verdict.exact:
                break
            learned = False
            for example in verdict.wrong if not verdict.sound else verdict.lost:
                verb, _, path = example.partition(" ")
                if path.startswith("/") and path not in extra.get(verb, ()):
                    extra.setdefault(verb, set()).add(path)
                    learned = True
            if not learned and not guessed:  # a wrong guess always goes on to the choice
                break
    except BudgetExceeded:
        detail = "the policy and token need more work than one invocation may spend"
        return _Proof(None, False, "analysis_budget", detail, (), units=budget_units)
    if not verdict.sound:
        logger.error(
            "IAM document check failed on %s; answering for the current request only", verdict.example
        )
        detail = f"the document would allow {verdict.example}"
        return _Proof(None, False, "self_check_failed", detail, (), units=budget_units - budget.left)
    detail = (
        "" if verdict.exact else f"IAM globs cannot say everything decide allows (e.g. {verdict.example})"
    )
    rules = verdict.missed or missed
    reason = "" if verdict.exact else "inexact"
    matcher, plan = _later_compiled(document), RenderPlan.of(document, prefix)
    return _Proof(document, verdict.exact, reason, detail, rules, matcher, plan, budget_units - budget.left)


def _later_compiled(document: dict[str, Any]) -> Callable[[str], bool]:
    """:func:`iam_allows` on ``document``, compiled (:func:`document_matcher`) from its second use on.

    The caller the proof is made for asks once (its own request, in ``_finish``), and compiling costs
    about as much as the check's own evaluators; the memo's later callers, each asking once, share the
    compiled form. So a first proof never pays for it, and a later caller pays for it at most once per
    shape, bounded by the document's size (a few milliseconds for 8 KiB). The proving caller may ask
    the same ARN twice (whether its answer reads the ARN, then to settle it): a repeat of the last ARN
    is answered from memory, not counted as a use, so the first proof never compiles."""
    uses: list[Callable[[str], bool] | None] = []  # [] never asked, [None] asked once, else compiled
    # The first ARN asked and its verdict, until another is asked (one slot, replaced in one store).
    first: list[tuple[str, bool] | None] = [None]

    def allows(arn: str) -> bool:
        if not uses:
            uses.append(None)
            verdict = iam_allows(document, arn)
            first[0] = (arn, verdict)
            return verdict
        seen = first[0]
        if seen is not None and seen[0] == arn:
            return seen[1]
        first[0] = None
        matcher = uses[0]
        if matcher is None:
            matcher = uses[0] = document_matcher(document)
        return matcher(arn)

    return allows


_MEMO: OrderedDict[tuple[Any, ...], tuple[Policy, _Proof]] = OrderedDict()
_MEMO_LOCK = Lock()
_MEMO_SIZE = 512


def clear_memo() -> None:
    """Forget every memoized proof (tests and benchmarks measure first proofs with it)."""
    with _MEMO_LOCK:
        _MEMO.clear()
        _FINISHED.clear()
        _TEMPLATES.clear()
        _GENERATION[0] += 1  # answers kept on principals (derived_answers) are never found again


def _proof_for(
    policy: Policy,
    principal: Principal,
    arn: MethodArn,
    budget: int,
    key: tuple[Any, ...],
    renaming: Renaming | None,
) -> _Proof:
    """The caller's proof: the memoized one, rendered for the caller when it is a stand-in's."""
    proof = _memoized_proof(policy, principal, arn, budget, key, renaming)
    if renaming is None or proof.document is None:
        return proof
    stand_in_allows, swap, prefix = proof.allows, swap_of(renaming.values), arn.prefix

    def allows(resource_arn: str) -> bool:
        # σ is its own inverse: the rendered document allows an ARN exactly when the stand-in's allows
        # its σ-image (docs/architecture.md, step 5).
        return stand_in_allows is not None and stand_in_allows(rename(resource_arn, prefix, swap))

    plan = proof.plan or RenderPlan.of(proof.document, prefix)
    return _Proof(
        plan.render(renaming.values),
        proof.exact,
        proof.reason,
        proof.detail,
        proof.rules,
        allows,
        units=proof.units,
    )


def _memoized_proof(
    policy: Policy,
    principal: Principal,
    arn: MethodArn,
    budget: int,
    key: tuple[Any, ...],
    renaming: Renaming | None,
) -> _Proof:
    """The memoized proof under ``key`` (the stand-in's when renamed), proved on a miss."""
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None and hit[0] is policy:
            _MEMO.move_to_end(key)
    proof = hit[1] if hit is not None and hit[0] is policy else None
    if proof is None:
        # The stand-in only when a proof is needed: building it copies the claims.
        subject = renaming.stand_in if renaming is not None else principal
        proof = _prove(policy, subject, arn.prefix, budget)
        with _MEMO_LOCK:
            _MEMO[key] = (policy, proof)
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return proof


def principal_proof(
    policy: Policy, principal: Principal, arn: MethodArn, budget: int = WORK_BUDGET
) -> _Proof:
    """The checked principal-wide proof for ``principal`` (memoized), before any current request is
    added: what ``cache_safety`` judges. ``document`` is ``None`` when there is none (see ``reason``)."""
    key, renaming = caller_key(policy, principal, arn, budget)
    return _proof_for(policy, principal, arn, budget, key, renaming)


# Finished answers (a repeated token asking for the same ARN): the same caller facts, renamed values,
# ARN and verdict give the same result, so it is handed out again (as a copy) without any work.
_FINISHED: OrderedDict[tuple[Any, ...], tuple[Policy, PolicyResult]] = OrderedDict()
_FINISHED_SIZE = 1024


# The same again, by the caller's identity: a repeated token gets back the very Principal object the
# verifier cached, and that principal keeps its own answers (principal.derived_answers), keyed by the
# policy, ARN, verdict, limits and the memo's generation: one lookup before any renaming or memo key is
# worked out, and no process-wide table keeps principals alive. Entries hold the policy itself, so its
# id cannot be reused while the entry lives. A renamed caller's entry is the way to fill its answer
# again (a new caller's answer is freshly filled, so it is handed out as it is instead of being copied
# for the cache).
_GENERATION = [0]


# A new caller of a memoized, renamed shape: the stand-in's answer for the σ-image of the caller's ARN,
# settled once (every step of `_settle` reads the ARN and the document only up to σ) and kept as an
# AnswerTemplate, or as the reason and detail of a request-scoped answer. Keyed by the memo key, the
# σ-image of the ARN and the verdict; the size check is the caller's own (lengths are not σ-invariant).
_Outcome = AnswerTemplate | tuple[str, str]
# _filled_answer's arguments after the policy and principal: (ARN, max_bytes, allowed, values, proof,
# outcome, unnameable).
_FillArgs = tuple[MethodArn, int, bool, Mapping[str, str], "_Proof", _Outcome, bool]
# Kept least recently used first, by a second chance: a lookup only marks its entry used (its last item,
# a one-item list), where moving it to the end would hash the key once more; the eviction loop moves a
# used entry to the end, unmarked, instead of dropping it. Keys are (memo key, image, verdict): the memo
# key nested, not spread, so building one is a 3-tuple.
_Template = tuple[Policy, "_Proof", _Outcome, bool, list[bool]]
_TEMPLATES: OrderedDict[tuple[Any, ...], _Template] = OrderedDict()
_TEMPLATES_SIZE = 1024


def _keep_template(template_key: tuple[Any, ...], entry: _Template) -> None:
    # Under _MEMO_LOCK. Each entry gets at most one second chance per eviction (a lookup on another
    # thread may mark entries again meanwhile: the loop still ends).
    _TEMPLATES[template_key] = entry
    chances = len(_TEMPLATES)
    while len(_TEMPLATES) > _TEMPLATES_SIZE:
        oldest, kept = _TEMPLATES.popitem(last=False)
        used = kept[4]
        if used[0] and chances > 0:
            used[0] = False
            _TEMPLATES[oldest] = kept
        chances -= 1


def _copied(result: PolicyResult) -> PolicyResult:
    # Callers own the document they get (an adapter may add to it); the cache keeps its own.
    statements = [{**s, "Resource": list(s["Resource"])} for s in result.document["Statement"]]
    document = {"Version": result.document["Version"], "Statement": statements}
    return PolicyResult(
        document, result.scope, result.reason, result.size, result.detail, result.rules, result.exact
    )


# --- public API ------------------------------------------------------------------------------------------


def request_policy(policy: Policy, principal: Principal, method_arn: MethodArn) -> dict[str, Any]:
    """A document for the current ARN only: Allow it if ``decide`` allows and IAM can name it exactly,
    else Deny it."""
    decision = policy.decide(principal, method_arn.verb or "GET", method_arn.path)
    arn_text = method_arn.arn
    allowed = decision.allowed and _nameable(arn_text)
    return policy_document([Statement("Allow" if allowed else "Deny", (arn_text,))])


def _nameable(arn_text: str) -> bool:
    # An exact ARN is its own Resource only without IAM's wildcards or a policy variable ("${...}").
    return not any(text in arn_text for text in ("*", "?", "${"))


def _request_result(
    policy: Policy, principal: Principal, arn: MethodArn, reason: str, detail: str, allowed: bool
) -> PolicyResult:
    arn_text = arn.arn
    named = allowed and _nameable(arn_text)
    document = policy_document([Statement("Allow" if named else "Deny", (arn_text,))])
    return PolicyResult(document, "request", reason, document_size(document), detail)


def _websocket_document(policy: Policy, principal: Principal, arn: MethodArn) -> dict[str, Any]:
    keys = list(dict.fromkeys([*policy_facts(policy).websocket_keys, arn.path]))
    allowed = [
        k for k in keys if "*" not in k and "?" not in k and policy.decide(principal, "GET", k).allowed
    ]
    denied = [k for k in keys if k not in allowed]
    statements = []
    if allowed:
        statements.append(Statement("Allow", tuple(arn.with_resource(None, k) for k in allowed)))
    if denied:
        statements.append(Statement("Deny", tuple(arn.with_resource(None, k) for k in denied)))
    return policy_document(statements)


def build_principal_policy(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    budget: int = WORK_BUDGET,
    allowed: bool | None = None,
) -> PolicyResult:
    """The document to return for ``principal`` on ``method_arn`` (see :class:`PolicyResult`).

    A principal-wide document never allows a routable request ``decide`` denies (checked after
    rendering); it allows the current request exactly when ``decide`` does and IAM can name it.
    ``allowed`` is the caller's own verdict on the current request when it decided on more than the
    ARN says (an authorizer that derived the API-relative path from the event); default: ``decide`` on
    the ARN's verb and path.
    """
    answer = _answer(policy, principal, method_arn, max_bytes, budget, allowed)
    return answer if isinstance(answer, PolicyResult) else _exact_result(*answer)


def authorizer_answer(
    policy: Policy, principal: Principal, method_arn: MethodArn, max_bytes: int, allowed: bool
) -> tuple[dict[str, Any], str | None]:
    """What the Lambda authorizer reads of :func:`build_principal_policy` (the default work budget): the
    document, and the reason when it is request-scoped (``None`` when it is principal-wide).

    A new caller of a settled shape within the limits gets its document without the
    :class:`PolicyResult` around it (one per new caller, ≈ 6k instructions of slot stores);
    ``tests/iam/test_iam_authorizer_answer.py`` holds the two to the same document and scope."""
    answer = _answer(policy, principal, method_arn, max_bytes, WORK_BUDGET, allowed)
    if isinstance(answer, PolicyResult):
        return answer.document, (answer.reason if answer.scope == "request" else None)
    return answer[0], None


# A principal-wide answer from an exact proof within the limits, before its PolicyResult is built:
# (document, size, proof); _exact_result builds it.
_Exact = tuple[dict[str, Any], int, "_Proof"]


def _exact_result(document: dict[str, Any], size: int, proof: _Proof) -> PolicyResult:
    # _sized's answer for a document within the limits from an exact proof (nothing to log).
    return _principal_result(document, size, proof, True)


def _principal_result(document: dict[str, Any], size: int, proof: _Proof, exact: bool) -> PolicyResult:
    # A principal-wide answer within the limits. Through the slot descriptors (the frozen __init__ sets
    # each field by name): once per new caller.
    result = _new_object(PolicyResult)
    _set_document(result, document)
    _set_scope(result, "principal")
    _set_reason(result, proof.reason)
    _set_size(result, size)
    _set_detail(result, proof.detail)
    _set_rules(result, proof.rules)
    _set_exact(result, exact)
    return result


def _answer(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    budget: int,
    allowed: bool | None,
) -> PolicyResult | _Exact:
    """:func:`build_principal_policy`'s answer, or the parts of it (:data:`_Exact`) when it is a filled
    template within the limits from an exact proof."""
    if method_arn.verb is None:
        document = _websocket_document(policy, principal, method_arn)
        return PolicyResult(document, "principal", "", document_size(document), exact=True)
    if allowed is None:
        allowed = policy.decide(principal, method_arn.verb, method_arn.path).allowed
    arn_text = method_arn.arn
    caller_key = (id(policy), arn_text, allowed, max_bytes, budget, _GENERATION[0])
    # A principal that has kept no answer yet (a new user's) has nothing to look up: its table is
    # made only when an answer is kept (derived_answers, below).
    held = getattr(principal, "_derived", None)
    seen = held.get(caller_key) if held else None
    if seen is not None and seen[0] is policy:
        answer = seen[1]
        return _copied(answer) if type(answer) is PolicyResult else _filled_answer(policy, principal, *answer)
    answers = derived_answers(principal)
    prefix = method_arn.prefix
    key, parts = new_caller_key(policy, principal, prefix, budget)
    if parts is not None:
        fill = _renamed_answer(
            policy, principal, method_arn, arn_text, prefix, max_bytes, allowed, budget, key, parts
        )
        if answers is not None:
            answers[caller_key] = (policy, fill)
        return _filled_answer(policy, principal, *fill)
    done_key = (*key, (), arn_text, allowed, max_bytes)
    with _MEMO_LOCK:
        done = _FINISHED.get(done_key)
    if done is not None and done[0] is policy:
        if answers is not None:
            answers[caller_key] = (policy, done[1])
        return _copied(done[1])
    result = _finish(
        policy,
        principal,
        method_arn,
        max_bytes,
        allowed,
        _proof_for(policy, principal, method_arn, budget, key, None),
    )
    with _MEMO_LOCK:
        _FINISHED[done_key] = (policy, result)
        while len(_FINISHED) > _FINISHED_SIZE:
            _FINISHED.popitem(last=False)
    if answers is not None:
        answers[caller_key] = (policy, result)
    return _copied(result)


def _renamed_answer(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    arn_text: str,
    prefix: str,
    max_bytes: int,
    allowed: bool,
    budget: int,
    key: tuple[Any, ...],
    parts: tuple[dict[str, str], dict[str, str]],
) -> _FillArgs:
    """How to answer a caller whose proof is the stand-in's renamed through σ: the stand-in's answer for
    the σ-image of the ARN, settled once per shape, ARN image (or its class, `_fresh`) and verdict, then
    filled with the caller's values (:class:`~cognito_authz.iam.renaming.AnswerTemplate`), which is σ
    applied to it. Equal to
    ``_finish`` on the rendered proof: σ is its own inverse, fixes every literal and carries each glob's
    matches along (docs/architecture.md, step 5), so each test `_settle` makes on the document and the
    ARN answers alike for the two; only lengths differ, and the size check is made on the caller's.
    The result is the arguments of :func:`_filled_answer` after the policy and principal; each call
    fills a fresh answer. ``arn_text`` and ``prefix`` are the ARN's (read once by the caller)."""
    # The stand-in's request. σ moves only segments that are values or placeholders (which all hold a
    # '~'); when neither is even a substring of the ARN (the usual request: no user id in it), the ARN
    # is its own image without a split.
    values = parts[0]
    image = arn_text
    moved = "~" in arn_text
    for value in values.values():  # a loop: a generator costs more than the one or two values it reads
        moved = moved or value in arn_text
    if moved:
        image = rename(arn_text, prefix, swap_of(values))
    # A request whose last segment is fresh (`path_class.fresh_segment`: the usual new user's own
    # resource, /orders/42) looks first where an answer settled without reading the ARN is kept for every
    # request of its class (the image up to that segment); anything else, and an answer that names the
    # ARN, is kept under the image itself.
    last = LAST_FACTS[0]  # this policy's, set by new_caller_key just before (unless another thread's)
    if last is None or last[0] is not policy:
        last = last_facts(policy)
    head, _slash, final = image.rpartition("/")
    class_key = None
    hit = None
    # _template written out (one call less on every new caller's path).
    if fresh_segment(final, last[3]):
        class_key = (key, head, allowed, FRESH_LAST)
        hit = _TEMPLATES.get(class_key)
        if hit is not None and hit[0] is policy:
            hit[4][0] = True
        else:
            hit = None
    if hit is None:
        template_key = (key, image, allowed)
        hit = _template(policy, template_key)
        if hit is None:
            hit = _new_template(
                policy, principal, method_arn, budget, key, parts, image, allowed, template_key, class_key
            )
    _policy, proof, outcome, unnameable, _used = hit
    # The arguments, not a closure or a partial: the principal keeps them (derived_answers), so they must
    # not hold the principal itself (a reference cycle would outlive the verifier's cache entry).
    return method_arn, max_bytes, allowed, values, proof, outcome, unnameable


def _new_template(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    budget: int,
    key: tuple[Any, ...],
    parts: tuple[dict[str, str], dict[str, str]],
    image: str,
    allowed: bool,
    template_key: tuple[Any, ...],
    class_key: tuple[Any, ...] | None,
) -> _Template:
    """`_renamed_answer`'s slow path, once per shape and class (or image) and verdict: the stand-in's
    answer for ``image`` settled (or found under `_ANY_ARN`) and kept once, by class when it was settled
    alike and the shape's classes are classes (`path_class.classes_tell`), else under the image (an
    answer that names the ARN, or a shape whose classes are finer)."""
    values, named = parts
    # Settling or proving needs the Renaming itself (its stand-in); made here, on a miss only.
    renaming = Renaming(values, principal, tuple(named.items()))
    proof = _memoized_proof(policy, principal, method_arn, budget, key, renaming)
    # Settled without reading the ARN: one template for every such request of the shape, so a new user
    # asking a path of a class no caller of its shape asked before is filled, not settled again.
    alike = _settles_alike(proof, image, allowed)
    any_key = (key, _ANY_ARN, allowed) if alike else None
    hit = _template(policy, any_key) if any_key is not None else None
    settled_now = hit is None
    if hit is None:
        outcome, unnameable = _outcome(policy, renaming, _image_arn(method_arn, image), allowed, proof)
        hit = (policy, proof, outcome, unnameable, [False])
    by_class = (
        alike
        and class_key is not None
        and classes_tell(key, proof.document, method_arn.prefix, last_facts(policy)[3])
    )
    with _MEMO_LOCK:
        _keep_template(class_key if by_class and class_key is not None else template_key, hit)
        if any_key is not None and settled_now:
            _keep_template(any_key, hit)
    return hit


# In place of the ARN image in a template's key: the answer was settled without reading the ARN.
_ANY_ARN = None


def _template(policy: Policy, template_key: tuple[Any, ...]) -> _Template | None:
    # Without the lock: a lookup is one C call, atomic under the GIL, and the entry read is immutable but
    # for its used mark (one store); the lock guards the insert and eviction loop. Another thread may
    # evict the entry meanwhile; it was found, so it is still a right answer.
    hit = _TEMPLATES.get(template_key)
    if hit is not None and hit[0] is policy:
        hit[4][0] = True
        return hit
    return None


def _settles_alike(proof: _Proof, image: str, allowed: bool) -> bool:
    """Whether `_settle` answers the stand-in's request ``image`` without reading it: with no document (a
    request-scoped answer, the caller's own ARN named when filled), or when the document already answers
    it as decide does (covers it exactly when it is allowed). Then the settled document is the proof's
    own, whatever the ARN; only a request that must be added to it, or refused, reads the ARN."""
    document = proof.document
    if document is None:
        return True
    covered = proof.allows(image) if proof.allows is not None else iam_allows(document, image)
    return covered == allowed


def _filled_answer(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    allowed: bool,
    values: Mapping[str, str],
    proof: _Proof,
    outcome: _Outcome,
    unnameable: bool,
) -> PolicyResult | _Exact:
    """A fresh answer from a settled outcome (see :func:`_renamed_answer`), as its parts when it is
    principal-wide and exact within the limits (:data:`_Exact`)."""
    if not isinstance(outcome, AnswerTemplate):
        if proof.document is None and proof.reason == "analysis_budget":
            logger.warning("principal-wide IAM document for sub=%s: work budget exhausted", principal.sub)
        if unnameable:
            logger.warning(_UNNAMEABLE)
        reason, detail = outcome
        return _request_result(policy, principal, method_arn, reason, detail, allowed)
    # A template: the proof has a document (no budget warning), and the settled request was not refused
    # as unnameable unless logged so.
    if unnameable:
        logger.warning(_UNNAMEABLE)
    filled = outcome.fill(values)
    if filled is None:  # a segment of the document equals a value: σ the plain way
        document = render(outcome.document, method_arn.prefix, values)
        filled = document, document_size(document), _longest(document)
    document, size, longest = filled
    if longest > MAX_RESOURCE_LENGTH or size > max_bytes or not proof.exact:
        return _sized(policy, principal, method_arn, max_bytes, allowed, proof, document, size, longest)
    # _sized's answer for a document within the limits from an exact proof (nothing to log), as its
    # parts: build_principal_policy makes the PolicyResult (_exact_result), the authorizer needs none.
    return document, size, proof


def _outcome(
    policy: Policy, renaming: Renaming, image: MethodArn, allowed: bool, proof: _Proof
) -> tuple[_Outcome, bool]:
    """The stand-in's settled answer for the ARN image ``image``, prepared for filling (a request-scoped
    answer as its reason and detail: the caller's own ARN is then named, not the image), and whether the
    request was refused as unnameable (logged for every caller, as `_finish` does)."""
    settled, unnameable = _settle(policy, renaming.stand_in, image, allowed, proof)
    if isinstance(settled, PolicyResult):
        return (settled.reason, settled.detail), unnameable
    placeholders = tuple(dict.fromkeys(placeholder for _claim, placeholder in renaming.key))
    return AnswerTemplate(settled, image.prefix, placeholders, document_size(settled)), unnameable


def _image_arn(method_arn: MethodArn, image: str) -> MethodArn:
    # The stand-in's request as a MethodArn: same API and stage, the path renamed. Built from the parsed
    # components, not parsed again (a placeholder may be longer than the value it stands for).
    head = (method_arn.partition, method_arn.region, method_arn.account, method_arn.api_id, method_arn.stage)
    return MethodArn._with_rest(head, image[len(method_arn.prefix) :])


def _longest(document: dict[str, Any]) -> int:
    return max(len(r) for s in document["Statement"] for r in s["Resource"])


def _finish(
    policy: Policy, principal: Principal, method_arn: MethodArn, max_bytes: int, allowed: bool, proof: _Proof
) -> PolicyResult:
    """The proof's document for this request: the current ARN added when decide allows it and the
    document does not, size limits applied."""
    if proof.document is None and proof.reason == "analysis_budget":
        logger.warning("principal-wide IAM document for sub=%s: work budget exhausted", principal.sub)
    settled, unnameable = _settle(policy, principal, method_arn, allowed, proof)
    if unnameable:
        logger.warning(_UNNAMEABLE)
    if isinstance(settled, PolicyResult):
        return settled
    return _sized(
        policy,
        principal,
        method_arn,
        max_bytes,
        allowed,
        proof,
        settled,
        document_size(settled),
        _longest(settled),
    )


_UNNAMEABLE = "the current request holds '*', '?' or '$': IAM cannot name it; refused"


def _settle(
    policy: Policy, principal: Principal, method_arn: MethodArn, allowed: bool, proof: _Proof
) -> tuple[PolicyResult | dict[str, Any], bool]:
    """The proof's document with the current ARN added when decide allows it and the document does
    not (before any size limit), or a request-scoped answer; and whether an allowed request was left out
    because IAM cannot name it. Reads the ARN and the document only through IAM matching, whole path
    segments and fixed texts, so a stand-in settles as its callers do up to σ."""
    if proof.document is None:
        return _request_result(policy, principal, method_arn, proof.reason, proof.detail, allowed), False
    document = proof.document
    statements = [dict(s) for s in document["Statement"]]
    # One evaluation for both guards below, by the evaluator compiled with the proof.
    arn_text = method_arn.arn  # a property that builds the string: read once
    covered = (proof.allows or (lambda arn: iam_allows(document, arn)))(arn_text)
    added = False  # whether the current ARN was added (only then can the verdict on it change)
    if not allowed and covered:
        # Checked sound over routable requests; this one is not (no route of the table takes it), so
        # API Gateway should not have sent it. Never answer it Allow.
        return _request_result(
            policy, principal, method_arn, "not_routable", "outside the route table", allowed
        ), False
    unnameable = allowed and not covered and not _nameable(arn_text)
    if allowed and not covered and not unnameable:
        if "%" in method_arn.path and any(
            method_arn.prefix + ESCAPED_PATHS in s["Resource"] for s in statements
        ):
            return _request_result(
                policy, principal, method_arn, "escaped_path", "escaped path under carve-outs", allowed
            ), False
        # Sound without a proof: the exact ARN of a request decide allows, with no wildcard in it.
        allow = next((s for s in statements if s["Effect"] == "Allow"), None)
        if allow is None:
            statements.insert(0, {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": []})
            allow = statements[0]
        allow["Resource"] = [*allow["Resource"], arn_text]
        added = True
        statements = [
            s
            for s in statements
            if not (s["Effect"] == "Deny" and s["Resource"] == [method_arn.prefix + "*"])
        ]
    settled = {"Version": document["Version"], "Statement": statements}
    # Unchanged document: it allows the current request exactly when `covered` says so, and an allowed
    # but uncovered request not added was refused above (unnameable) or returned (escaped path).
    if allowed and _nameable(arn_text) and added and not iam_allows(settled, arn_text):
        # A carve-out Deny covers this allowed request (an inexact document): answer it alone.
        return _request_result(
            policy, principal, method_arn, "carve_out", "a Deny covers this request", allowed
        ), False
    return settled, unnameable


def _sized(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    allowed: bool,
    proof: _Proof,
    document: dict[str, Any],
    size: int,
    longest: int,
) -> PolicyResult:
    """The settled document as the answer, or a request-scoped one when it is too large for API Gateway."""
    if longest > MAX_RESOURCE_LENGTH or size > max_bytes:
        logger.warning(
            "principal-wide IAM document too large (%d bytes, longest Resource %d): request-scoped policy",
            size,
            longest,
        )
        return _request_result(
            policy,
            principal,
            method_arn,
            "too_large",
            f"{size} bytes (max_bytes={max_bytes}), longest Resource {longest}",
            allowed,
        )
    if not proof.exact:
        logger.info(
            "principal-wide IAM document for sub=%s is not exact (rules %s): %s",
            principal.sub,
            ", ".join(proof.rules) or "?",
            proof.detail,
        )
    return _principal_result(document, size, proof, proof.exact)


_new_object = object.__new__
_set_document = PolicyResult.__dict__["document"].__set__
_set_scope = PolicyResult.__dict__["scope"].__set__
_set_reason = PolicyResult.__dict__["reason"].__set__
_set_size = PolicyResult.__dict__["size"].__set__
_set_detail = PolicyResult.__dict__["detail"].__set__
_set_rules = PolicyResult.__dict__["rules"].__set__
_set_exact = PolicyResult.__dict__["exact"].__set__
