# XGBoost's C library, pinned and installed into the project-local prefix by scripts/setup
# (DESIGN.md section 6): the xgboost-cpu wheel's libxgboost.so with the matching sdist's headers.
set(RAYPIPE_XGBOOST_VERSION "3.2.0")
set(XGBOOST_ROOT "${RAYPIPE_DEPS_DIR}/xgboost-${RAYPIPE_XGBOOST_VERSION}")
# The wheel's library finds its bundled OpenMP runtime through its RUNPATH
# ($ORIGIN/../../xgboost_cpu.libs), so it is used where the wheel's layout put it.
find_library(XGBOOST_LIBRARY NAMES xgboost PATHS "${XGBOOST_ROOT}/xgboost/lib" NO_DEFAULT_PATH)
find_path(XGBOOST_INCLUDE_DIR NAMES xgboost/c_api.h PATHS "${XGBOOST_ROOT}/include"
          NO_DEFAULT_PATH)
if(NOT XGBOOST_LIBRARY OR NOT XGBOOST_INCLUDE_DIR)
  message(FATAL_ERROR "XGBoost ${RAYPIPE_XGBOOST_VERSION} not found under ${XGBOOST_ROOT}: "
                      "run scripts/setup (or `make`, which runs it).")
endif()
add_library(xgboost::xgboost SHARED IMPORTED GLOBAL)
set_target_properties(xgboost::xgboost PROPERTIES
  IMPORTED_LOCATION "${XGBOOST_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${XGBOOST_INCLUDE_DIR}"
  INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${XGBOOST_ROOT}/xgboost_cpu.libs"
  INTERFACE_COMPILE_DEFINITIONS "RAYPIPE_XGBOOST_VERSION=\"${RAYPIPE_XGBOOST_VERSION}\"")
