// oracle-scenario: restart.table
// The whole restart table (C6), with the codes forced: at the exit stop of a
// sched_yield the tracer writes -ERESTARTSYS / -ERESTARTNOINTR / -ERESTARTNOHAND /
// -ERESTART_RESTARTBLOCK into the return register and makes a signal pending: SIGUSR1
// with a handler without SA_RESTART ("handler"), with SA_RESTART ("sa-restart"), or a
// SIGSTOP + SIGCONT, which runs no handler ("no-handler"). Each cell says what followed:
// "restart" (sched_yield entered again), "restart_syscall" (restart_syscall entered),
// or the errno user mode got ("EINTR"). Before the test the task has a nanosleep
// interrupted by a handled SIGUSR2, so its restart block is one it made itself and that
// rt_sigreturn cancelled (restart_syscall then gives -EINTR).
#include "oracle.h"

static int mode;
enum { HANDLER, SA_RESTART_HANDLER, NO_HANDLER };
static const char *const mode_names[] = {"handler", "sa-restart", "no-handler"};
static const int codes[] = {K_ERESTARTSYS, K_ERESTARTNOINTR, K_ERESTARTNOHAND, K_ERESTART_RESTARTBLOCK};
static const char *const code_names[] = {"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ERESTART_RESTARTBLOCK"};

static void body(void) {
  struct timespec ts = {10, 0};
  handler_as_libc(SIGUSR2, count_handler, 0);
  SYS2(SYS_nanosleep, &ts, 0); /* interrupted by SIGUSR2: a restart block, cancelled */
  if (mode != NO_HANDLER) handler_as_libc(SIGUSR1, count_handler, mode == SA_RESTART_HANDLER ? SA_RESTART : 0);
  S->handlers = 0;
  S->ret = SYS0(SYS_sched_yield);
}

int main(void) {
  shared_init();
  j_begin();
  j_open("table");
  for (int c = 0; c < 4; c++) {
    j_open(code_names[c]);
    for (mode = 0; mode < 3; mode++) {
      memset(tr_entries, 0, sizeof tr_entries);
      S->ret = 1;
      pid_t pid = tr_start(body);
      tr_run_to_sleep(pid, SYS_nanosleep);
      kill(pid, SIGUSR2);
      struct ev x = tr_until(pid, EV_EXIT, SYS_sched_yield);
      R_RET(x.regs) = -codes[c];
      tr_setregs(pid, &x.regs);
      kill(pid, mode == NO_HANDLER ? SIGSTOP : SIGUSR1);
      struct ev end = tr_finish(pid);
      if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0 (%s, %s)", code_names[c], mode_names[mode]);
      int handlers_expected = mode == NO_HANDLER ? 0 : 1;
      if (S->handlers != handlers_expected) fail("%s, %s: %d handler runs", code_names[c], mode_names[mode], S->handlers);
      char cell[64];
      if (count(SYS_sched_yield) == 2 && count(SYS_restart_syscall) == 0 && S->ret == 0) snprintf(cell, sizeof cell, "restart");
      else if (count(SYS_sched_yield) == 1 && count(SYS_restart_syscall) == 1) snprintf(cell, sizeof cell, "restart_syscall");
      else if (count(SYS_sched_yield) == 1 && S->ret < 0 && S->ret > -4096) snprintf(cell, sizeof cell, "%s", errname((long)-S->ret));
      else snprintf(cell, sizeof cell, "ret %lld after %d entries", S->ret, count(SYS_sched_yield));
      if (count(SYS_nanosleep) != 1) fail("the preamble's nanosleep was entered %d times", count(SYS_nanosleep));
      j_str(mode_names[mode], cell);
    }
    j_close();
  }
  j_close();
  j_end();
  return 0;
}
