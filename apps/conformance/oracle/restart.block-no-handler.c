// oracle-scenario: restart.block-no-handler
// -ERESTART_RESTARTBLOCK with no handler: nanosleep(300 ms) is stopped and continued; the
// kernel rewinds the pc onto the syscall instruction with the restart_syscall number in
// the number register; user mode runs that one instruction and restart_syscall finishes
// the sleep.
#include "oracle.h"

static void body(void) {
  struct timespec ts = {0, 300 * 1000 * 1000}, rem = {0, 0};
  long long t0 = now_ns();
  S->ret = SYS2(SYS_nanosleep, &ts, &rem);
  S->v[0] = now_ns() - t0;
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_nanosleep);
  kill(pid, SIGSTOP);
  struct ev x = tr_until(pid, EV_EXIT, SYS_nanosleep);
  tr_step_begin(pid);
  tr_cont(pid, 0);
  struct ev e2 = tr_until(pid, EV_ENTRY, -1);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("nanosleep", count(SYS_nanosleep));
  j_int("restart_syscall", count(SYS_restart_syscall));
  j_close();
  j_int("userInsnsBetweenEntries", tr_insns);
  j_int("codeAtExitStop", x.rval);
  j_str("nrAtRewoundPc", sysname(e2.nr));
  j_int("pcRewind", (long long)(x.ip - (e2.ip - SYSCALL_INSN_LEN)));
  j_bool("sleptFullTime", S->v[0] >= 300LL * 1000 * 1000);
  j_end();
  return 0;
}
