// oracle-scenario: ptrace.entry-skip
// At the entry stop of getpid the tracer sets the syscall number to -1 and the return
// register to 0x5a5a: getpid is skipped and user mode sees 0x5a5a. A second getpid is
// skipped with the return register left alone: user mode sees what the kernel put there
// before the entry stop (-ENOSYS on x86).
#include "oracle.h"

static void body(void) {
  S->ret = SYS0(SYS_getpid);
  S->v[0] = SYS0(SYS_getpid);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  struct ev e = tr_until(pid, EV_ENTRY, SYS_getpid);
  long long raxAtEntryStop = (long)R_RET(e.regs);
  R_NR(e.regs) = -1;
  R_RET(e.regs) = 0x5a5a;
  tr_setregs(pid, &e.regs);
  tr_cont(pid, 0);
  struct ev x = tr_wait(pid);
  int exitStop = x.kind == EV_EXIT;
  if (exitStop) tr_cont(pid, 0);
  e = tr_until(pid, EV_ENTRY, SYS_getpid);
  R_NR(e.regs) = -1;
  tr_setregs(pid, &e.regs);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_open("syscallEntries");
  j_int("getpid", count(SYS_getpid));
  j_close();
  j_int("retRegAtEntryStop", raxAtEntryStop);
  j_int("retWhenTracerLeavesRetReg", S->v[0]);
  j_bool("exitStopAfterSkip", exitStop);
  if (exitStop) j_int("nrAtExitStop", x.nr);
  j_end();
  return 0;
}
