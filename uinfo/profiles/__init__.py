"""Which runs each notebook needs at each profile: configs, built from tables of settings (presentation of the
experiments, outside every run's code version)."""


def profile_spec(profiles: dict, profile: str):
    """``profiles[profile]``, or a ValueError naming the profiles there are."""
    if profile not in profiles:
        raise ValueError(f"profile must be one of {sorted(profiles)}, got {profile!r}")
    return profiles[profile]
