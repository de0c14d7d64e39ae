// @archkit/generic-core: the kernel-entry contracts as code. The main entry points; every
// module is also reachable by its path (`@archkit/generic-core/kernel/kernel`, ...).

export { Kernel, KernelBug, KernelHost, type KernelOptions } from './kernel/kernel.ts';
export type { KernelApi, Task, IrqPlan, IrqRecord, IrqSource, UserImage } from './kernel/types.ts';
export { portLoader, listMutants, MutantError } from './contracts/loader.ts';
export type { ArchPort, ArchModule, PortOptions, EntryHooks, ProcessHooks, SignalHooks, SyscallHooks } from './contracts/port.ts';
export type { CpuModel, CpuMachine, IrqModel, ReturnToUser, ReturnToUserState } from './contracts/cpu.ts';
export { parseDescriptor, DescriptorError, LINUX_RELEASE, type ArchDescriptor, type EntryModel } from './contracts/descriptor.ts';
export { todo, NotImplementedError, isNotImplemented } from './contracts/todo.ts';
export { createUnicornMachine, unicornVersion, type UnicornMachine, type UnicornCpu } from './machine/unicorn/machine.ts';
export { BudgetExceededError, EmulatorMissingError, GuestFaultError, RunTimeoutError, type Machine } from './machine/machine.ts';
export { createAssembler, describeAssembler } from './asm/create.ts';
export type { Assembler } from './asm/assembler.ts';
export { compileProgram, type UserProgram, type Op } from './user/compile.ts';
