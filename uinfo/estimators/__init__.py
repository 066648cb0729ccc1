"""Information estimators: usable information (Kleinman et al. 2021)."""
from .usable import (UsableInformation, cross_fitted_usable_information, cross_fitted_usable_information_batch,
                     entropy_bits, usable_information, usable_information_batch)

__all__ = ["UsableInformation", "usable_information", "usable_information_batch", "cross_fitted_usable_information",
           "cross_fitted_usable_information_batch", "entropy_bits"]
