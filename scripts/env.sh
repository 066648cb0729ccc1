# Sourced by run_all.sh and run_tests.sh from the repository root. This environment's fallback, and nothing more:
# the project's own CI and development machines reach no data host and keep the data sets in ../shared/data, so
# when $UINFO_DATA is unset, <repo>/data holds no arrays file (*.npz; a failed download may have left the folder
# with only torchvision's leftovers) and ../shared/data is there, the data folder is pointed at it.
# Everywhere else the package uses <repo>/data (or $UINFO_DATA) and downloads what is missing (README "Data files").
if [ -z "${UINFO_DATA:-}" ] && ! compgen -G "data/*.npz" > /dev/null && [ -d ../shared/data ]; then
  UINFO_DATA=$(cd ../shared/data && pwd)
  export UINFO_DATA
fi
