"""The private index's infrastructure, one Pulumi component per concept.

PackageRepository  the S3 bucket and who may read it (repository.py)
PackageDomain      CloudFront, and optionally a custom domain with its certificate (domain.py)
Deployer           who CI publishes as (an IAM user and its rotating key, or an OIDC role),
                   and the GitHub secrets that say so (deployer.py)
KeyClock           when the access key was created and is due (key_clock.py)
github_access      the GitHub provider and its token, for any component writing secrets
IndexReaders       a private index's readers: tokens, their hashes at the edge, secrets (readers.py)
Settings           the stack configuration, checked before anything is declared (settings.py)
policies           the access policy documents, as pure functions (policies.py)
"""

from components.deployer import Deployer, DeployerArgs, Distribution
from components.domain import PackageDomain, PackageDomainArgs
from components.repository import PackageRepository, PackageRepositoryArgs
from components.settings import InvalidSetting, Settings

__all__ = [
    "Deployer",
    "DeployerArgs",
    "Distribution",
    "InvalidSetting",
    "PackageDomain",
    "PackageDomainArgs",
    "PackageRepository",
    "PackageRepositoryArgs",
    "Settings",
]
