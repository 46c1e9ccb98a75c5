#!/usr/bin/env bash
# Build the three pieces. Usage: ./build.sh   (outputs in build/ and build_dl/)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
RAY_CPP=$(venv/bin/python -c 'import ray,os;print(os.path.join(os.path.dirname(ray.__file__),"cpp"))')
mkdir -p build build_dl
set -x
# a. kernels: normal new ABI, C++20, only the C API exported
g++ -std=c++20 -O2 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -shared -Wl,--no-undefined \
    -Wl,--version-script=src/kernels.map -Wl,-Bsymbolic \
    src/kernels.cpp -o build/libspike_kernels.so
# b1. bridge, linked to the kernels library (found via RUNPATH $ORIGIN)
g++ -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=0 -O2 -fPIC -shared -Wl,--no-undefined \
    -I"$RAY_CPP/include" src/bridge.cpp -o build/libspike_ray_bridge.so \
    -L"$RAY_CPP/lib" -lray_api -Lbuild -lspike_kernels \
    -Wl,-rpath,'$ORIGIN' -Wl,-rpath,"$RAY_CPP/lib"
# b2. bridge variant that dlopens the kernels by absolute path (env SPIKE_KERNELS_LIB or baked)
g++ -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=0 -O2 -fPIC -shared -Wl,--no-undefined \
    -DSPIKE_DLOPEN -DSPIKE_KERNELS_PATH="\"$ROOT/build/libspike_kernels.so\"" \
    -I"$RAY_CPP/include" src/bridge.cpp -o build_dl/libspike_ray_bridge.so \
    -L"$RAY_CPP/lib" -lray_api -ldl -Wl,-rpath,"$RAY_CPP/lib"
# c. driver: normal new ABI, C++20, only bridge_c.h; links the bridge
g++ -std=c++20 -O2 src/driver.cpp -o build/driver -Lbuild -lspike_ray_bridge -pthread \
    -Wl,-rpath,'$ORIGIN'
g++ -std=c++20 -O2 src/driver.cpp -o build_dl/driver -Lbuild_dl -lspike_ray_bridge -pthread \
    -Wl,-rpath,'$ORIGIN'
