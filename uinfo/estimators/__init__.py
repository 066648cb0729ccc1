"""Information estimators: usable information (Kleinman et al. 2021) and Shannon entropy / mutual information of
noisy networks by sample propagation (Goldfeld et al. 2019)."""
from .shannon import (MixtureEntropy, MixtureIndex, MixtureInformation, SPEstimate, binned_entropy, gaussian_entropy,
                      gaussian_mixture_entropy, mixture_information, mixture_log_density, sp_fresh_information,
                      sp_mutual_information)
from .usable import (UsableInformation, cross_fitted_usable_information, cross_fitted_usable_information_batch,
                     entropy_bits, usable_information, usable_information_batch)

__all__ = ["UsableInformation", "usable_information", "usable_information_batch", "cross_fitted_usable_information",
           "cross_fitted_usable_information_batch", "entropy_bits", "MixtureEntropy", "MixtureIndex", "SPEstimate",
           "MixtureInformation", "gaussian_entropy", "gaussian_mixture_entropy", "mixture_information",
           "mixture_log_density", "sp_fresh_information", "sp_mutual_information", "binned_entropy"]
