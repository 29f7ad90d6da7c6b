"""The private index's infrastructure, one Pulumi component per concept.

PackageRepository  the S3 bucket and who may read it (repository.py)
PackageCdn         CloudFront, and optionally a custom domain with its certificate (cdn.py)
Deployer           who CI publishes as (an IAM user and its rotating key, or an OIDC role),
                   and the GitHub secrets that say so (deployer.py)
KeyClock           when the access key was created and is due (key_clock.py)
github_access      the GitHub provider and its token, for any component writing secrets
IndexReaders       a private index's readers: tokens, their hashes at the edge, secrets (readers.py)
Settings           the stack configuration, checked before anything is declared (settings.py)
policies           the access policy documents, as pure functions (policies.py)
Component          what each component above is: a type token, children parented to it
                   (component.py)

components/ imports nothing of the library but private_pypi.contract, the names both share.
"""

from components.cdn import PackageCdn, PackageCdnArgs
from components.deployer import CdnRef, Deployer, DeployerArgs
from components.repository import PackageRepository, PackageRepositoryArgs
from components.settings import InvalidSetting, Settings

__all__ = [
    "CdnRef",
    "Deployer",
    "DeployerArgs",
    "InvalidSetting",
    "PackageCdn",
    "PackageCdnArgs",
    "PackageRepository",
    "PackageRepositoryArgs",
    "Settings",
]
