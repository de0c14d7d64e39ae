// oracle-scenario: signal.user-fault
// A privileged instruction (cli) in user mode faults; the fault arrives as a signal
// (SIGSEGV on x86, from the #GP) whose handler moves the saved pc past it; the task then
// resumes there and exits normally.
#include "oracle.h"

extern char oracle_after_fault[];

static void h_fault(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  uc->uc_mcontext.gregs[UC_IP] = (long)oracle_after_fault;
  S->v[0] = sig;
  count_handler(sig);
}

static __attribute__((noinline, noclone)) void fault_here(void) {
  __asm__ volatile("cli\n.globl oracle_after_fault\noracle_after_fault:\n" ::: "memory");
  S->v[1] = 1;
}

int main(void) {
  shared_init();
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    if (ksigaction(SIGSEGV, (void *)h_fault, SA_SIGINFO, 0, 1) != 0) rexit(101);
    if (ksigaction(SIGILL, (void *)h_fault, SA_SIGINFO, 0, 1) != 0) rexit(101);
    fault_here();
    rexit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) fail("waitpid: %s", strerror(errno));

  char fault[16];
  snprintf(fault, sizeof fault, "sig%lld", S->v[0]);
  j_begin();
  j_str("fault", fault);
  j_int("handlers", S->handlers);
  j_bool("resumedWherePointed", S->v[1] != 0);
  j_int("killedBy", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  j_int("exitCode", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  j_end();
  return 0;
}
