// The 32-bit ARM CPU (ARMv7-A, Cortex-A15, ARM state, little endian) on Unicorn 2.0.1:
// its register table (banked sp/lr/spsr, cp15 through UC_ARM_REG_CP_REG), privilege and the
// interrupt mask as CPSR holds them, and what Unicorn does not do by itself: the exception
// entry. Unicorn reports `svc` to the interrupt hook (EXCP_SWI, pc already past it) and an
// undefined instruction to UC_HOOK_INSN_INVALID (pc at it), and never vectors either; the
// hooks do what the ARM ARM (B1.8 "Exception handling") says the hardware does: SPSR_<mode>
// = CPSR, LR_<mode> = the return address, CPSR.M = the mode, I set, T/IT/J cleared, pc =
// the vector (high vectors, 0xffff0000). Everything after that (the vector stubs' mode
// switch, ldm {..}^, movs pc, lr back to USR) is the emulator's own.
//
// No calibration is needed here: a CPSR write through the register API is cpsr_write(...,
// CPSRWriteByUnicorn), which banks r13/r14/SPSR and rebuilds the hflags QEMU translates
// with, so the privilege level follows at once. calibrate() checks exactly that on a
// scratch engine (a USR-mode cp15 access must be undefined, an SVC-mode one must work).
// Unicorn then ends uc_emu_start after the undefined instruction whatever the hook does
// (arm_stop_interrupt): the machine's hookInvalidInsn starts it again at the vector.
// An external interrupt (C12) is taken the same way from a code hook: IRQ mode, LR_irq =
// the interrupted instruction + 4, vector 0x18, when CPSR.I is clear.

import type { CpuMachine, CpuModel } from '@archkit/generic-core/contracts/cpu';
import type { KernelApi } from '@archkit/generic-core/kernel/types';
import { ARCH_DATA_OFFSET, TASK_THREAD, THREAD_SIZE } from '@archkit/generic-core/kernel/layout';
import { symbolize } from '@archkit/generic-core/kernel/symbols';
import { CalibrationError, UcEngine } from '@archkit/generic-core/machine/unicorn/engine';
import type { RegAccess } from '@archkit/generic-core/machine/unicorn/machine';

// ------------------------------------------------------------------ Unicorn (unicorn.h, arm.h)

const UC_ARCH_ARM = 1;
const UC_MODE_ARM = 0;
/** uc_cpu_arm: Cortex-A15 (ARMv7-A with the Security and Virtualization Extensions, v6K TLS registers) */
const UC_CPU_ARM_CORTEX_A15 = 17;
const UC_ARM_REG_CPSR = 3;
const UC_ARM_REG_LR = 10;
const UC_ARM_REG_PC = 11;
const UC_ARM_REG_SP = 12;
const UC_ARM_REG_SPSR = 13;
const UC_ARM_REG_R0 = 66;
const UC_ARM_REG_CP_REG = 139;

// ------------------------------------------------------------------ architecture facts

/** CPSR.M values (ARM ARM B1.3.1), asm/ptrace.h *_MODE. */
export const MODE = { USR: 0x10n, FIQ: 0x11n, IRQ: 0x12n, SVC: 0x13n, ABT: 0x17n, UND: 0x1bn, SYS: 0x1fn } as const;
export const MODE_MASK = 0x1fn;
export const PSR_T_BIT = 0x20n;
export const PSR_F_BIT = 0x40n;
export const PSR_I_BIT = 0x80n;
export const PSR_A_BIT = 0x100n;
export const PSR_E_BIT = 0x200n;
export const PSR_J_BIT = 0x01000000n;
export const PSR_IT_MASK = 0x0600fc00n;

/** QEMU's exception numbers as Unicorn hands them to UC_HOOK_INTR (target/arm/cpu.h). */
export const EXCP = { UDEF: 1, SWI: 2, PREFETCH_ABORT: 3, DATA_ABORT: 4, IRQ: 5, FIQ: 6, BKPT: 7 } as const;
const EXCP_NAME: Record<number, string> = Object.fromEntries(Object.entries(EXCP).map(([k, v]) => [v, k]));

/** Vector offsets (ARM ARM B1.8.1): undefined instruction, supervisor call. */
export const VECTOR = { UND: 0x04n, SWI: 0x08n, PABT: 0x0cn, DABT: 0x10n, IRQ: 0x18n, FIQ: 0x1cn } as const;
/** SCTLR.V: the vectors at 0xffff0000 (Linux's choice with an MMU: vectors_high()). */
export const SCTLR_V = 1n << 13n;
export const HIGH_VECTORS = 0xffff0000n;
/** The stubs page, 4 KiB above the vectors (arch/arm/kernel/vmlinux.lds.S). */
export const STUBS_PAGE = 0xffff1000n;

/** Instruction words (ARM state, condition AL). */
export const INSN = {
  movsPcLr: 0xe1b0f00e,
  nop: 0xe1a00000, // mov r0, r0
  udf: 0xe7f000f0, // udf #0
  bug: 0xe7f001f2, // BUG_INSTR_VALUE (asm/bug.h)
  mrcSctlr: 0xee110f10, // mrc p15, 0, r0, c1, c0, 0
  svc0: 0xef000000,
};

/** thread_info.tp_value[0] from task_struct: the arch part of the kit's task_struct, offset 52 (arch.json thread). */
const TP_VALUE_IN_THREAD = 52n;
const TI_TP_VALUE = TASK_THREAD + TP_VALUE_IN_THREAD;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

// ------------------------------------------------------------------ registers

/** uc_arm_cp_reg {u32 cp, is64, sec, crn, crm, opc1, opc2; u64 val}: a cp15 register, non-secure bank (the state Unicorn runs in). */
function cp15(crn: number, crm: number, opc1: number, opc2: number): RegAccess {
  const what = `cp15 c${crn}, c${crm}, ${opc1}, ${opc2}`;
  const fill = (b: Buffer, v: bigint) => {
    b.writeUInt32LE(15, 0);
    b.writeUInt32LE(0, 4);
    b.writeUInt32LE(0, 8);
    b.writeUInt32LE(crn, 12);
    b.writeUInt32LE(crm, 16);
    b.writeUInt32LE(opc1, 20);
    b.writeUInt32LE(opc2, 24);
    b.writeBigUInt64LE(BigInt.asUintN(64, v), 32);
  };
  return {
    read: (uc) => uc.regReadStruct(UC_ARM_REG_CP_REG, (b) => fill(b, 0n), what).readBigUInt64LE(32) & 0xffffffffn,
    write: (uc, v) => uc.regWriteStruct(UC_ARM_REG_CP_REG, (b) => fill(b, v), what),
  };
}

const TPIDRURO = cp15(13, 0, 0, 3) as Exclude<RegAccess, number>;

/**
 * A register of the USR bank read or written from another mode: the way the kernel does it
 * when it cannot use ldm/stm {..}^ (store_user_sp_lr), through SYS mode, which shares it.
 */
function userBank(id: number): RegAccess {
  const inSys = <T>(uc: UcEngine, f: () => T): T => {
    const cpsr = uc.regRead(UC_ARM_REG_CPSR);
    if ((cpsr & MODE_MASK) === MODE.USR || (cpsr & MODE_MASK) === MODE.SYS) return f();
    uc.regWrite(UC_ARM_REG_CPSR, (cpsr & ~MODE_MASK) | MODE.SYS);
    try {
      return f();
    } finally {
      uc.regWrite(UC_ARM_REG_CPSR, cpsr);
    }
  };
  return { read: (uc) => inSys(uc, () => uc.regRead(id)), write: (uc, v) => inSys(uc, () => uc.regWrite(id, v)) };
}

/**
 * The user's TLS value (the register CLONE_SETTLS and set_tls give user mode): TPIDRURO as
 * user mode sees it. In USR mode that is the register; in the kernel TPIDRURO holds current
 * (CONFIG_CURRENT_POINTER_IN_TPIDRURO) and the user value waits in current's
 * thread_info.tp_value[0] until restore_user_regs puts it back.
 */
const userTls: RegAccess = {
  read(uc) {
    const tp = TPIDRURO.read(uc);
    if ((uc.regRead(UC_ARM_REG_CPSR) & MODE_MASK) === MODE.USR) return tp;
    const b = Buffer.from(uc.memRead(tp + TI_TP_VALUE, 4));
    return BigInt(b.readUInt32LE(0));
  },
  write(uc, v) {
    if ((uc.regRead(UC_ARM_REG_CPSR) & MODE_MASK) === MODE.USR) return TPIDRURO.write(uc, v);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(Number(BigInt.asUintN(32, v)), 0);
    uc.memWrite(TPIDRURO.read(uc) + TI_TP_VALUE, b);
  },
};

function armRegisters(): Record<string, RegAccess> {
  const t: Record<string, RegAccess> = {};
  for (let i = 0; i <= 12; i++) t[`r${i}`] = UC_ARM_REG_R0 + i;
  Object.assign(t, {
    sl: UC_ARM_REG_R0 + 10, fp: UC_ARM_REG_R0 + 11, ip: UC_ARM_REG_R0 + 12,
    // sp, lr and spsr are the current mode's bank; a CPSR write switches banks
    sp: UC_ARM_REG_SP, r13: UC_ARM_REG_SP, lr: UC_ARM_REG_LR, r14: UC_ARM_REG_LR, pc: UC_ARM_REG_PC, r15: UC_ARM_REG_PC,
    cpsr: UC_ARM_REG_CPSR, spsr: UC_ARM_REG_SPSR,
    sp_usr: userBank(UC_ARM_REG_SP), lr_usr: userBank(UC_ARM_REG_LR),
    sctlr: cp15(1, 0, 0, 0), vbar: cp15(12, 0, 0, 0), midr: cp15(0, 0, 0, 0),
    tpidrurw: cp15(13, 0, 0, 2), tpidruro: TPIDRURO, tpidrprw: cp15(13, 0, 0, 4),
    tls: userTls,
  });
  return t;
}

// ------------------------------------------------------------------ start-up check

const CALIBRATED_WITH = '2.0.1';
let checked = false;

/**
 * What this model relies on, checked once per process on a scratch engine: the CPU model is
 * a Cortex-A15 starting in SVC mode; after a CPSR write to USR a PL1-only cp15 access is
 * undefined (the privilege level followed the register write), and after a write back to
 * SVC it works; `svc` in USR mode reaches the interrupt hook as EXCP_SWI with pc past it;
 * TPIDRURO written through the register API is what `mrc` reads.
 */
function calibrate(): void {
  if (checked) return;
  const uc = UcEngine.open(UC_ARCH_ARM, UC_MODE_ARM, UC_CPU_ARM_CORTEX_A15);
  const fail = (detail: string) => new CalibrationError('ARMv7-A', detail, CALIBRATED_WITH, uc.version);
  try {
    uc.memMap(0n, 0x10000, 7);
    const put = (addr: bigint, words: number[]) => {
      const b = Buffer.alloc(words.length * 4);
      words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
      uc.memWrite(addr, b);
    };
    const MRC_TPIDRURO_R1 = 0xee1d1f70; // mrc p15, 0, r1, c13, c0, 3
    put(0x1000n, [INSN.mrcSctlr, INSN.nop]);
    put(0x2000n, [INSN.svc0, INSN.nop]);
    put(0x3000n, [MRC_TPIDRURO_R1, INSN.nop]);
    const regs = armRegisters();
    const midr = (regs['midr'] as Exclude<RegAccess, number>).read(uc);
    if (midr !== 0x412fc0f1n) throw fail(`the CPU model is MIDR ${hex(midr)}, not a Cortex-A15 (0x412fc0f1)`);
    const cpsr0 = uc.regRead(UC_ARM_REG_CPSR);
    if ((cpsr0 & MODE_MASK) !== MODE.SVC) throw fail(`Unicorn starts in mode ${hex(cpsr0 & MODE_MASK)}, not SVC`);
    const sctlr = (regs['sctlr'] as Exclude<RegAccess, number>).read(uc);

    uc.regWrite(UC_ARM_REG_CPSR, (cpsr0 & ~MODE_MASK) | MODE.USR);
    let err = uc.start(0x1000n, 0x1008n, 2_000_000n, 10);
    let pc = uc.regRead(UC_ARM_REG_PC);
    if (err !== 10 || pc !== 0x1000n) throw fail(`a USR-mode mrc of SCTLR after a CPSR write did not fault (err ${err}, pc ${hex(pc)}): the privilege level does not follow the register`);

    uc.regWrite(UC_ARM_REG_CPSR, (cpsr0 & ~MODE_MASK) | MODE.SVC);
    uc.regWrite(UC_ARM_REG_R0, 0n);
    err = uc.start(0x1000n, 0x1008n, 2_000_000n, 10);
    if (err !== 0 || uc.regRead(UC_ARM_REG_R0) !== sctlr) throw fail(`an SVC-mode mrc of SCTLR failed (err ${err}, r0 ${hex(uc.regRead(UC_ARM_REG_R0))})`);

    uc.regWrite(UC_ARM_REG_CPSR, (cpsr0 & ~MODE_MASK) | MODE.USR);
    const intrs: Array<[number, bigint]> = [];
    uc.onInterrupt((intno) => {
      intrs.push([intno, uc.regRead(UC_ARM_REG_PC)]);
      uc.stop();
    });
    uc.start(0x2000n, 0x2008n, 2_000_000n, 10);
    if (intrs.length !== 1 || intrs[0]![0] !== EXCP.SWI || intrs[0]![1] !== 0x2004n) {
      throw fail(`svc in USR mode: expected EXCP_SWI with pc 0x2004 at the hook, got ${JSON.stringify(intrs.map(([i, p]) => [i, hex(p)]))}`);
    }
    TPIDRURO.write(uc, 0x7e57n);
    uc.start(0x3000n, 0x3008n, 2_000_000n, 10);
    if (uc.regRead(UC_ARM_REG_R0 + 1) !== 0x7e57n) throw fail('TPIDRURO written through UC_ARM_REG_CP_REG is not what mrc reads');
    checked = true;
  } finally {
    uc.close();
  }
}

// ------------------------------------------------------------------ exception entry

/** Per machine: the kernel it runs and the vector base boot() set up. */
const booted = new WeakMap<CpuMachine, { k: KernelApi; vectors: bigint }>();

function vectorBase(m: CpuMachine): bigint {
  const b = booted.get(m);
  if (!b) throw new Error('arm: an exception before the CPU model booted');
  return b.vectors;
}

/**
 * The exception entry the hardware performs (ARM ARM B1.8.3, "Exception entry"): SPSR of
 * the target mode = CPSR, LR of the target mode = the return address (the CPSR write banks
 * r13/r14/SPSR), mode set, IRQs masked (and asynchronous aborts for IRQ/FIQ/aborts),
 * T = SCTLR.TE (0) and E = SCTLR.EE (0), IT and J cleared, pc = vector base + offset.
 * Returns the vector address.
 */
export function takeException(m: CpuMachine, mode: bigint, offset: bigint, lr: bigint, maskAborts = false): bigint {
  const old = m.reg('cpsr');
  const neu = (old & ~(MODE_MASK | PSR_T_BIT | PSR_E_BIT | PSR_IT_MASK | PSR_J_BIT)) | mode | PSR_I_BIT | (maskAborts ? PSR_A_BIT : 0n);
  m.setReg('cpsr', neu);
  m.setReg('spsr', old);
  m.setReg('lr', lr);
  const to = vectorBase(m) + offset;
  m.setReg('pc', to);
  return to;
}

function insnAt(m: CpuMachine, addr: bigint, size = 4): number | undefined {
  try {
    return Number(m.readUint(addr, size));
  } catch {
    return undefined;
  }
}

const isUser = (m: CpuMachine) => (m.reg('cpsr') & MODE_MASK) === MODE.USR;

// ------------------------------------------------------------------ the model

export const cpu: CpuModel = {
  name: 'ARMv7-A (Cortex-A15)',
  returnToUser: {
    patterns: [Uint8Array.from([0x0e, 0xf0, 0xb0, 0xe1])], // movs pc, lr
    check(m, addr, size, stackTop) {
      if (size !== 4 || insnAt(m, addr) !== INSN.movsPcLr) return null;
      // an exception return to user mode when SPSR_<mode> says USR
      const spsr = m.reg('spsr');
      if ((spsr & MODE_MASK) !== MODE.USR) return null;
      const pc = m.reg('lr') & ~(spsr & PSR_T_BIT ? 1n : 3n);
      const state = { pc, sp: m.reg('sp'), expectedSp: stackTop };
      // TPIDRURO is current in the kernel: at the way out it must hold the user's TLS again
      const b = booted.get(m);
      if (!b) return state;
      const t = b.k.current();
      const tp = m.reg('tpidruro');
      const want = b.k.readWord(t.addr + TI_TP_VALUE);
      if (tp === want) return state;
      return {
        ...state,
        violation: {
          contract: 'C12',
          message: `TPIDRURO holds ${hex(tp)} at the return to user mode, not the task's TLS value tp_value[0] = ${hex(want)}${tp === t.addr ? ': it is still current, the kernel task pointer' : ''}`,
        },
      };
    },
  },
  unicorn: {
    arch: UC_ARCH_ARM,
    mode: UC_MODE_ARM,
    model: UC_CPU_ARM_CORTEX_A15,
    registers: armRegisters(),
    pc: 'pc',
    calibratedWith: CALIBRATED_WITH,
    calibrate,
  },
  irq: {
    // no shadow on ARM: an IRQ is taken before any instruction while CPSR.I is clear
    canTake: (m) => (m.reg('cpsr') & PSR_I_BIT) === 0n,
    take(m) {
      // LR_irq = the preferred return address (the instruction not yet run) + 4, ARM or Thumb
      takeException(m, MODE.IRQ, VECTOR.IRQ, m.reg('pc') + 4n, true);
    },
  },
  userPrivilege: 0,
  nop: Uint8Array.from([0x00, 0x00, 0xa0, 0xe1]), // mov r0, r0
  stubFill: Uint8Array.from([0xf0, 0x00, 0xf0, 0xe7]), // udf #0: ends a translation block

  privilege(m) {
    return isUser(m) ? 0 : 1;
  },

  setPrivilege(m, level) {
    if (level !== 0 && level !== 1) throw new RangeError(`ARM privilege must be 0 (USR, PL0) or 1 (SVC, PL1), got ${level}`);
    const cpsr = m.reg('cpsr');
    m.setReg('cpsr', (cpsr & ~MODE_MASK) | (level === 0 ? MODE.USR : MODE.SVC));
    m.leaveBlock();
  },

  irqsEnabled(m) {
    return (m.reg('cpsr') & PSR_I_BIT) === 0n;
  },

  setIrqsEnabled(m, on) {
    const cpsr = m.reg('cpsr');
    m.setReg('cpsr', on ? cpsr & ~PSR_I_BIT : cpsr | PSR_I_BIT);
  },

  boot(m: CpuMachine, k: KernelApi): void {
    const tp = k.desc.thread.fields.find((f) => f.name === 'tp_value');
    if (!tp || BigInt(tp.offset) !== TP_VALUE_IN_THREAD) throw new Error(`arm cpu model: arch.json thread.tp_value must be at ${TP_VALUE_IN_THREAD}`);
    const sym = (name: string) => {
      const v = k.symbols.get(name);
      if (v === undefined) throw new Error(`arm cpu model: entry.S defines no "${name}"`);
      return v;
    };

    // early_trap_init(): the vectors page and the stubs page, copied to the high vectors.
    const [vs, ve, ss, se] = [sym('__vectors_start'), sym('__vectors_end'), sym('__stubs_start'), sym('__stubs_end')];
    if (ss - vs !== STUBS_PAGE - HIGH_VECTORS) throw new Error('arm cpu model: __stubs_start must be 4 KiB after __vectors_start (the vectors branch into the stubs page)');
    m.map(HIGH_VECTORS, 0x2000);
    m.write(HIGH_VECTORS, m.read(vs, Number(ve - vs)));
    m.write(STUBS_PAGE, m.read(ss, Number(se - ss)));
    m.setReg('sctlr', m.reg('sctlr') | SCTLR_V);

    // cpu_init(): each exception mode's 12-byte stack {r0, lr, spsr} for vector_stub
    // (struct stack in kernel data), then SVC mode with IRQs, FIQs and aborts masked;
    // init_irq_stacks(): a THREAD_SIZE IRQ stack in the arch's kernel data, its top
    // recorded in irq_stack_ptr.
    const stacks = k.desc.memory.kernelData + ARCH_DATA_OFFSET;
    k.writeWord(sym('irq_stack_ptr'), stacks + 2n * THREAD_SIZE);
    const cpsr = m.reg('cpsr') & ~(MODE_MASK | PSR_T_BIT);
    [MODE.IRQ, MODE.ABT, MODE.UND, MODE.FIQ].forEach((mode, i) => {
      m.setReg('cpsr', cpsr | mode | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT);
      m.setReg('sp', stacks + BigInt(12 * i));
    });
    m.setReg('cpsr', cpsr | MODE.SVC | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT);
    booted.set(m, { k, vectors: HIGH_VECTORS });

    m.hookInterrupt((intno) => {
      const pc = m.reg('pc');
      const what = EXCP_NAME[intno] ?? `exception ${intno}`;
      if (!isUser(m)) {
        k.bug('CPU', `arm: ${what} taken in mode ${hex(m.reg('cpsr') & MODE_MASK)} at ${symbolize(k.symbols, pc)}: the kernel raised an exception (an oops)`);
      }
      if (intno === EXCP.SWI) {
        // Unicorn reports svc with pc already past it: that is LR_svc
        const thumb = (m.reg('cpsr') & PSR_T_BIT) !== 0n;
        const insn = thumb ? insnAt(m, pc - 2n, 2) : insnAt(m, pc - 4n);
        const isSvc = insn !== undefined && (thumb ? (insn & 0xff00) === 0xdf00 : ((insn >>> 24) & 0xf) === 0xf);
        if (!isSvc) k.bug('CPU', `arm: EXCP_SWI at pc ${hex(pc)} but no svc instruction before it`);
        takeException(m, MODE.SVC, VECTOR.SWI, pc);
        return;
      }
      // Aborts need an MMU (none is set up: unmapped memory ends the run instead); a
      // breakpoint would be SIGTRAP through the prefetch abort path, not modelled.
      k.bug('CPU', `arm: user-mode ${what} at pc ${hex(pc)}: only svc and undefined instructions are taken by this model`);
    });

    m.hookInvalidInsn(() => {
      const pc = m.reg('pc');
      if (!isUser(m)) {
        const insn = insnAt(m, pc);
        const why = insn === INSN.bug ? 'BUG() in entry.S' : `undefined instruction ${insn === undefined ? '' : hex(insn)}`;
        k.bug('CPU', `arm: ${why} at ${symbolize(k.symbols, pc)} (pc ${hex(pc)}) in mode ${hex(m.reg('cpsr') & MODE_MASK)}`);
      }
      // LR_und = the faulting instruction + 4 (ARM) or + 2 (Thumb): __und_fault undoes it
      const thumb = (m.reg('cpsr') & PSR_T_BIT) !== 0n;
      return takeException(m, MODE.UND, VECTOR.UND, pc + (thumb ? 2n : 4n));
    });
  },
};
