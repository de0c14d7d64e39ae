// oracle-scenario: signal.frame-roundtrip
// Every user register survives a handler that clobbers them all: the task fills every
// comparable register with a pattern and calls sched_yield; the tracer makes SIGUSR1
// pending at the entry stop; the handler (installed with SA_RESTORER, as libc does)
// overwrites every register but the stack pointer; after rt_sigreturn every register but
// the return register holds its pattern again.
#include "oracle.h"

static long long after[NCOMP];

static void body(void) {
  if (ksigaction(SIGUSR1, (void *)oracle_clobber_handler, 0, 0, 1) != 0) rexit(101);
  oracle_fill_sys_store(SYS_sched_yield, 0x4400, after);
  for (int i = 0; i < NCOMP; i++) S->child[i] = after[i];
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, SYS_sched_yield);
  kill(pid, SIGUSR1);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("handlers", S->handlers);
  j_int("registersChecked", NCOMP - 1);
  j_openarr("registersNotRestored");
  for (int i = 1; i < NCOMP; i++)
    if (S->child[i] != fill_value(0x4400, i)) j_str(NULL, comp_names[i]);
  j_closearr();
  j_int("ret", S->child[0]);
  j_end();
  return 0;
}
