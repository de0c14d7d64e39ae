// oracle-scenario: signal.no-restorer
// A handler installed through the raw rt_sigaction WITHOUT SA_RESTORER (libc always adds
// it), then kill(self, SIGUSR1). x86-64 has no sigreturn trampoline of its own: the
// kernel cannot build the frame and the task dies of SIGSEGV before the handler runs.
// (i386 returns through the vDSO's __kernel_rt_sigreturn instead.)
#include "oracle.h"

int main(void) {
  shared_init();
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    S->v[0] = ksigaction(SIGUSR1, (void *)count_handler, 0, 0, 0);
    S->ret = SYS2(SYS_kill, SYS0(SYS_getpid), SIGUSR1);
    S->v[1] = 1;
    rexit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) fail("waitpid: %s", strerror(errno));

  j_begin();
  j_int("sigactionRet", S->v[0]);
  j_int("handlers", S->handlers);
  j_int("killedBy", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  j_bool("returnedFromHandler", S->v[1] != 0);
  if (S->v[1]) j_int("ret", S->ret);
  j_end();
  return 0;
}
