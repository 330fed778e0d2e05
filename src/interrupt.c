/* The process-wide interrupt flag (include/coach/interrupt.h). C11 allows
 * a signal handler to touch a lock-free atomic object, and the same object
 * is read by the speech thread: an atomic int is right for both, where a
 * volatile sig_atomic_t would be right only for the first. */
#include "coach/interrupt.h"

#include <assert.h>
#include <stdatomic.h>

static_assert(ATOMIC_INT_LOCK_FREE == 2, "the interrupt flag must be lock-free");

static atomic_int g_signal; /* the signal that asked, 0 while none has */

void coach_interrupt_raise(int sig)
{
    int none = 0;
    atomic_compare_exchange_strong(&g_signal, &none, sig ? sig : -1);
}

int coach_interrupted(void) { return atomic_load_explicit(&g_signal, memory_order_relaxed); }

void coach_interrupt_reset(void) { atomic_store(&g_signal, 0); }
