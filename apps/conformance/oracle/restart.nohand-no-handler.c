// oracle-scenario: restart.nohand-no-handler
// -ERESTARTNOHAND with no handler: ppoll sleeps, is stopped and continued, and is
// restarted (the tracer counts the user instructions between the two entries); then
// SIGUSR1, which has a handler, ends it with -EINTR.
#include "oracle.h"

static void body(void) {
  handler_as_libc(SIGUSR1, count_handler, 0);
  S->ret = SYS5(SYS_ppoll, 0, 0, 0, 0, 8);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_ppoll);
  kill(pid, SIGSTOP);
  struct ev x = tr_until(pid, EV_EXIT, SYS_ppoll);
  tr_step_begin(pid);
  tr_cont(pid, 0);
  struct ev e2 = tr_until(pid, EV_ENTRY, -1);
  tr_cont(pid, 0);
  wait_sleeping(pid);
  kill(pid, SIGUSR1);
  struct ev end = tr_until(pid, EV_EXITED, 0);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("ppoll", count(SYS_ppoll));
  j_close();
  j_int("userInsnsBetweenEntries", tr_insns);
  j_int("codeAtExitStop", x.rval);
  j_str("nrAtRewoundPc", sysname(e2.nr));
  j_int("pcRewind", (long long)(x.ip - (e2.ip - SYSCALL_INSN_LEN)));
  j_end();
  return 0;
}
