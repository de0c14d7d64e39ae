// oracle-scenario: signal.sigreturn-cancels-restart-block
// rt_sigreturn cancels a pending restart block (C7). nanosleep(10 s) is interrupted by
// SIGUSR1 with a handler: -EINTR, and the handler's rt_sigreturn empties the restart
// block, so a restart_syscall made afterwards returns -EINTR at once. Control: in a
// second task the handler itself calls restart_syscall before returning (the block is
// still live there) and it resumes the interrupted 300 ms sleep, returning 0.
#include "oracle.h"

static long long restart_in_handler = 1;

static void h_restart(int sig) {
  restart_in_handler = SYS0(SYS_restart_syscall);
  S->v[2] = restart_in_handler;
  count_handler(sig);
}

static void body(void) {
  struct timespec ts = {10, 0}, rem = {0, 0};
  handler_as_libc(SIGUSR1, count_handler, SA_RESTART);
  S->ret = SYS2(SYS_nanosleep, &ts, &rem);
  S->v[0] = SYS0(SYS_restart_syscall);
}

static void control(void) {
  struct timespec ts = {0, 300 * 1000 * 1000}, rem = {0, 0};
  handler_as_libc(SIGUSR1, h_restart, SA_RESTART);
  S->v[1] = SYS2(SYS_nanosleep, &ts, &rem);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_nanosleep);
  kill(pid, SIGUSR1);
  struct ev end = tr_until(pid, EV_EXITED, 0);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");
  int handlers = S->handlers;
  int nanosleeps = count(SYS_nanosleep), restarts = count(SYS_restart_syscall);

  S->v[2] = 1;
  pid = tr_start(control);
  tr_run_to_sleep(pid, SYS_nanosleep);
  kill(pid, SIGUSR1);
  end = tr_until(pid, EV_EXITED, 0);
  if (end.kind != EV_EXITED || end.code != 0) fail("the control task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", handlers);
  j_open("syscallEntries");
  j_int("nanosleep", nanosleeps);
  j_int("restart_syscall", restarts);
  j_close();
  j_int("restartSyscallAfterSigreturn", S->v[0]);
  j_int("restartSyscallInHandler", S->v[2]);
  j_end();
  return 0;
}
