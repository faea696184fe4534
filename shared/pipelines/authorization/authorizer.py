"""The decision point: may this principal make these IAM requests? Cached, and closed on error.

:class:`Authorizer` asks an :class:`Evaluator` (local evaluation of the policies IAM holds, or
``iam:SimulatePrincipalPolicy``) and caches each decision for at most
:data:`MAX_CACHE_SECONDS`, keyed by principal, action, resource and context -- so a policy
change takes effect within that window. Errors are never cached and always deny.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pipelines.api.errors import AccessDenied
from pipelines.authorization.policies import Decision, evaluate
from pipelines.authorization.principals import Principal, principal_of
from pipelines.authorization.requests import PIPELINE_VERSION_KEY, AccessRequest
from pipelines.authorization.sources import PolicySource

MAX_CACHE_SECONDS = 60.0
_MAX_ENTRIES = 10_000
log = logging.getLogger(__name__)


class Evaluator(Protocol):
    def decide(self, principal: Principal, request: AccessRequest) -> Decision: ...


class LocalEvaluator:
    """Evaluates the principal's policies from ``source`` here (:mod:`.policies`)."""

    def __init__(self, source: PolicySource) -> None:
        self.source = source

    def decide(self, principal: Principal, request: AccessRequest) -> Decision:
        policies = self.source.policies(principal)
        return evaluate(
            policies.documents,
            request.action,
            request.resource,
            request.context_dict(),
            boundary=policies.boundary,
        )


class SimulatorEvaluator:
    """Asks IAM's policy simulator (``iam:SimulatePrincipalPolicy``) for the decision.

    Simulation needs the entity's ARN (an assumed-role session simulates as its role), and
    every condition key supplied with its type: ``sagemaker:PipelineVersionId`` is numeric,
    ``aws:TagKeys`` a string list, the rest strings.
    """

    def __init__(self, iam: Any) -> None:
        self.iam = iam

    def _entity_arn(self, principal: Principal) -> str:
        if principal.kind == "user":
            return str(self.iam.get_user(UserName=principal.name)["User"]["Arn"])
        return str(self.iam.get_role(RoleName=principal.name)["Role"]["Arn"])

    def decide(self, principal: Principal, request: AccessRequest) -> Decision:
        entries = []
        for key, values in request.context:
            kind = "numeric" if key == PIPELINE_VERSION_KEY else "string"
            if len(values) != 1 or key == "aws:TagKeys":
                kind += "List"
            entries.append({"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": kind})
        result = self.iam.simulate_principal_policy(
            PolicySourceArn=self._entity_arn(principal),
            ActionNames=[request.action],
            ResourceArns=[request.resource],
            ContextEntries=entries,
        )["EvaluationResults"][0]
        return Decision(result["EvalDecision"])


def denial(principal_arn: str, request: AccessRequest, reason: str) -> AccessDenied:
    return AccessDenied(
        f"User: {principal_arn} is not authorized to perform: {request.action} on resource: "
        f"{request.resource} because {reason}"
    )


_REASONS = {
    Decision.EXPLICIT_DENY: "of an explicit deny in an identity-based policy",
    Decision.IMPLICIT_DENY: "no identity-based policy allows the {action} action",
}


class Authorizer:
    """Checks requests for the principals it ``governs``; others pass through (see ``guard``).

    ``governs(principal)`` says whose policies decide: in the cloud the deployment account's
    users and roles (its root is not bound by IAM policies, other accounts act through RAM
    shares); in the embedded runtime the accounts that have a policy file.
    """

    def __init__(
        self,
        evaluator: Evaluator,
        governs: Callable[[Principal], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = MAX_CACHE_SECONDS,
    ) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"decisions may be cached for 0 to {MAX_CACHE_SECONDS:.0f} seconds")
        self.evaluator = evaluator
        self.governs = governs
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, AccessRequest], tuple[float, Decision]] = {}
        self._lock = threading.Lock()

    def principal(self, account_id: str, principal_arn: str | None) -> Principal:
        """The caller: its IAM entity, or (no IAM identity known, as locally) its account root."""
        if principal_arn is None:
            return Principal(account_id, "root", "", f"arn:aws:iam::{account_id}:root")
        principal = principal_of(principal_arn)
        if principal.account != account_id:
            raise denial(principal_arn, AccessRequest("*", "*"), "the caller's ARN is not of its account")
        return principal

    def check(self, principal: Principal, requests: Sequence[AccessRequest]) -> None:
        """Raise ``AccessDeniedException`` unless every request is allowed."""
        if not self.governs(principal):
            return
        for request in requests:
            decision = self._decide(principal, request)
            if decision is not Decision.ALLOW:
                raise denial(principal.arn, request, _REASONS[decision].format(action=request.action))

    def _decide(self, principal: Principal, request: AccessRequest) -> Decision:
        key = (principal.arn, request)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            decision = self.evaluator.decide(principal, request)
        except Exception as exc:  # deny on any error, and say why; never cached
            log.warning("authorization of %s on %s failed: %s", request.action, request.resource, exc)
            reason = str(exc) if isinstance(exc, AccessDenied) else f"the authorization check failed ({exc})"
            raise denial(principal.arn, request, reason) from exc
        with self._lock:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= _MAX_ENTRIES:
                    self._cache.clear()
            if self.cache_seconds:
                self._cache[key] = (now + self.cache_seconds, decision)
        return decision
