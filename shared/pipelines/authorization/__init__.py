"""Authorization as SageMaker does it: the caller's own IAM policies decide.

Every SageMaker operation is one IAM request -- ``sagemaker:<Action>`` on the resource's ARN
with the condition keys SageMaker supplies (``sagemaker:PipelineVersionId``,
``aws:ResourceTag/<k>``, ``sagemaker:ResourceTag/<k>``, ``aws:RequestTag/<k>``,
``aws:TagKeys``) -- plus ``iam:PassRole`` (``iam:PassedToService = sagemaker.amazonaws.com``)
on the ``RoleArn`` of CreatePipeline / UpdatePipeline.

- ``requests``: operation + parameters -> the :class:`AccessRequest` list (transport-free).
- ``principals``: a caller ARN -> :class:`Principal` (an assumed-role session is its role);
  malformed or unsupported principals are refused.
- ``policies``: evaluates policy documents locally (IAM's logic: explicit deny > allow >
  implicit deny, permissions boundary); a condition operator outside
  :data:`SUPPORTED_OPERATORS` is an error that denies, never a silent match.
- ``sources``: where a principal's policies come from: IAM (users, groups, roles, attached and
  inline, boundary) or the embedded config's per-account policy file.
- ``authorizer``: :class:`Authorizer` -- decisions cached at most 60 s keyed by principal,
  action, resource and context; any error denies; a denial is ``AccessDeniedException``
  naming the action and resource. Backends: :class:`LocalEvaluator` (policies read and
  evaluated here; works against moto and locally) and :class:`SimulatorEvaluator`
  (``iam:SimulatePrincipalPolicy``), both behind :class:`Evaluator`.
- ``guard``: wraps the SageMaker handler table so each call is authorized before it runs.
"""

from pipelines.authorization.authorizer import (
    MAX_CACHE_SECONDS,
    Authorizer,
    Evaluator,
    LocalEvaluator,
    SimulatorEvaluator,
)
from pipelines.authorization.guard import authorized_handlers
from pipelines.authorization.policies import SUPPORTED_OPERATORS, Decision, UnsupportedPolicy, evaluate
from pipelines.authorization.principals import MalformedPrincipal, Principal, principal_of
from pipelines.authorization.requests import (
    PASSED_TO_SERVICE,
    AccessRequest,
    pass_role_request,
    sagemaker_action,
)
from pipelines.authorization.sources import IamPolicySource, PolicySet, PolicySource, StaticPolicySource

__all__ = [
    "MAX_CACHE_SECONDS",
    "PASSED_TO_SERVICE",
    "SUPPORTED_OPERATORS",
    "AccessRequest",
    "Authorizer",
    "Decision",
    "Evaluator",
    "IamPolicySource",
    "LocalEvaluator",
    "MalformedPrincipal",
    "PolicySet",
    "PolicySource",
    "Principal",
    "SimulatorEvaluator",
    "StaticPolicySource",
    "UnsupportedPolicy",
    "authorized_handlers",
    "evaluate",
    "pass_role_request",
    "principal_of",
    "sagemaker_action",
]
