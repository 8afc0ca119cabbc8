# tl_cpu_kernels(target root): the static library of CPU kernels (cpp/ under `root`), with the
# inner loops compiled once per SIMD level (baseline x86-64, AVX2+FMA, AVX-512) and chosen at
# run time by cpp/isa.cpp, so the build stays portable (no -march=native).
# Used by the package (CMakeLists.txt) and by the sanitizer tests (tests/emulation).
set(TL_ISA_FLAGS_baseline "")
set(TL_ISA_FLAGS_avx2 -mavx2 -mfma)
# GCC 12's avx512fintrin.h trips its own -Wmaybe-uninitialized (the _mm512_undefined_* idiom).
set(TL_ISA_FLAGS_avx512 -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -mprefer-vector-width=512
    -Wno-maybe-uninitialized)

# Every cpp/*_isa.cpp is compiled per level; every other cpp/*.cpp once.
function(tl_cpu_kernels target root)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  file(GLOB isa_sources CONFIGURE_DEPENDS ${root}/cpp/*_isa.cpp)
  file(GLOB sources CONFIGURE_DEPENDS ${root}/cpp/*.cpp)
  list(REMOVE_ITEM sources ${isa_sources})
  set(objects)
  foreach(isa baseline avx2 avx512)
    add_library(${target}_${isa} OBJECT ${isa_sources})
    target_compile_definitions(${target}_${isa} PRIVATE TL_ISA_NS=${isa})
    target_compile_options(${target}_${isa} PRIVATE ${TL_ISA_FLAGS_${isa}} -fno-math-errno -Wall -Wextra -Werror)
    target_include_directories(${target}_${isa} PRIVATE ${root}/cpp)
    list(APPEND objects $<TARGET_OBJECTS:${target}_${isa}>)
  endforeach()
  add_library(${target} STATIC ${sources} ${objects})
  target_include_directories(${target} PUBLIC ${root}/cpp)
  target_compile_options(${target} PRIVATE -fno-math-errno -Wall -Wextra -Werror)
  target_link_libraries(${target} PUBLIC OpenMP::OpenMP_CXX)
endfunction()
