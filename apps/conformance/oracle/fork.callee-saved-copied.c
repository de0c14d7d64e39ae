// oracle-scenario: fork.callee-saved-copied
// The task fills every comparable register with a pattern and forks; parent and child
// store their registers right after the syscall instruction: they are identical but for
// the return register, and (argument registers aside) still hold the pattern.
#include "oracle.h"

static long long after[NCOMP];

int main(void) {
  shared_init();
  oracle_fill_sys_store(SYS_fork, 0x1100, after);
  if (after[0] == 0) {
    for (int i = 0; i < NCOMP; i++) S->child[i] = after[i];
    rexit(0);
  }
  if (after[0] < 0) fail("fork returned %lld", after[0]);
  for (int i = 0; i < NCOMP; i++) S->parent[i] = after[i];
  int st;
  if (waitpid((pid_t)after[0], &st, 0) != (pid_t)after[0]) fail("waitpid: %s", strerror(errno));

  j_begin();
  j_int("registersCompared", NCOMP);
  j_openarr("registersDiffering");
  for (int i = 0; i < NCOMP; i++)
    if (S->parent[i] != S->child[i]) j_str(NULL, comp_names[i]);
  j_closearr();
  /* registers that no longer hold their pattern in the parent (the return register aside) */
  j_openarr("registersChanged");
  for (int i = 1; i < NCOMP; i++)
    if (S->parent[i] != fill_value(0x1100, i)) j_str(NULL, comp_names[i]);
  j_closearr();
  j_end();
  return 0;
}
