/* wrong_sem/fixed_sem.c — the same parking lot with the semaphore initialised to
 * the number of spaces: its count and the lot agree, so the fourth car's
 * sem_trywait fails with EAGAIN and the car is turned away. Same schedule. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

enum { SPACES = 3, CARS = 4 };

static sem_t free_spaces; /* counts free spaces: always equal to the zeros in occupied */
static pthread_mutex_t lot_lock = PTHREAD_MUTEX_INITIALIZER;
static int occupied[SPACES]; /* protected by lot_lock: car number or 0 */
static int overbooked;       /* protected by lot_lock: cars let in with no space */
static int turned_away;      /* protected by lot_lock */
static sem_t arrived;        /* fixes the schedule: posted when a car has parked or left */

static void *car(void *arg)
{
    int id = (int)(long)arg;
    if (sem_trywait(&free_spaces) == 0) {
        PT_CHECK(pthread_mutex_lock(&lot_lock));
        int space = 0;
        while (space < SPACES && occupied[space] != 0)
            space++;
        if (space == SPACES)
            overbooked++; /* the semaphore said yes, the lot says no */
        else
            occupied[space] = id;
        PT_CHECK(pthread_mutex_unlock(&lot_lock));
    } else if (errno == EAGAIN) {
        PT_CHECK(pthread_mutex_lock(&lot_lock));
        turned_away++;
        PT_CHECK(pthread_mutex_unlock(&lot_lock));
    } else {
        SYS_CHECK(-1); /* any other error from sem_trywait */
    }
    SYS_CHECK(sem_post(&arrived));
    return NULL;
}

int main(void)
{
    pthread_t t[CARS];
    SYS_CHECK(sem_init(&free_spaces, 0, SPACES)); /* one token per space */
    SYS_CHECK(sem_init(&arrived, 0, 0));
    for (long i = 0; i < CARS; i++) {
        PT_CHECK(pthread_create(&t[i], NULL, car, (void *)(i + 1)));
        SYS_CHECK(sem_wait(&arrived)); /* next car only after this one has parked */
    }
    for (int i = 0; i < CARS; i++)
        PT_CHECK(pthread_join(t[i], NULL));
    SYS_CHECK(sem_destroy(&free_spaces));
    SYS_CHECK(sem_destroy(&arrived));
    return lab_verdict(overbooked == 0 && turned_away == CARS - SPACES,
                       "cars let in with no space = %d (expected 0), turned away = %d (expected %d)",
                       overbooked, turned_away, CARS - SPACES);
}
