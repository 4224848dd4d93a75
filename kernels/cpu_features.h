// What the CPU and the OS let us run, read once with cpuid/xgetbv (x86) or assumed (aarch64).
#pragma once

#include "kernels/kernel_table.h"

namespace st {

struct CpuFeatures {
  bool avx2 = false;      // AVX2 + FMA + F16C, with OS-enabled YMM state
  bool avx512 = false;    // AVX-512 F/BW/DQ/VL, with OS-enabled ZMM/opmask state
  bool avx512_vnni = false;
  bool neon = false;
  bool neon_dotprod = false;  // Armv8.2 SDOT/UDOT (HWCAP_ASIMDDP)
  bool Supports(Isa isa) const;
};

const CpuFeatures& GetCpuFeatures();

// Whether this build contains the kernels of `isa` (per-ISA files are compiled only for their arch).
bool IsaCompiled(Isa isa);

}  // namespace st
