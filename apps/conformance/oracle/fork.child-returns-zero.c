// oracle-scenario: fork.child-returns-zero
// fork: the child sees 0, the parent the child's pid.
#include "oracle.h"

int main(void) {
  shared_init();
  long r = SYS0(SYS_fork);
  if (r == 0) {
    S->child[0] = r;
    S->child[1] = 1;
    rexit(0);
  }
  if (r < 0) fail("fork returned %ld", r);
  int st;
  if (waitpid(r, &st, 0) != r) fail("waitpid: %s", strerror(errno));

  j_begin();
  j_open("ret");
  j_int("parent", r);
  j_int("child", S->child[1] ? S->child[0] : -1);
  j_close();
  j_end();
  return 0;
}
