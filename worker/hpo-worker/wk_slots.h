/* wk_slots: GPU discovery (nvidia-smi -L, /proc/driver/nvidia/gpus) and the grouping of GPUs into
 * the slots trials run on; parsing and grouping are pure. */
#ifndef WK_SLOTS_H
#define WK_SLOTS_H

#include <stddef.h>

#include "hpo_error.h"

#define WK_GPUS_MAX 256

/* "0,1,2,3" (blanks allowed around the numbers): distinct indices 0..WK_GPUS_MAX-1, at most max
 * of them, written to ret in order. *ret_n their count. */
hpo_rc wk_gpus_parse_list(const char *s, int *ret, size_t max, size_t *ret_n, hpo_error *err);

/* The output of `nvidia-smi -L`: the n of every line that starts "GPU n:", in order, at most
 * max of them. Returns their count; other lines are ignored. */
size_t wk_gpus_parse_smi(const char *text, int *ret, size_t max);

/* The GPUs of this host: `nvidia-smi -L`, else one per entry of /proc/driver/nvidia/gpus
 * (numbered 0, 1, ...), else none. Returns the count. */
size_t wk_gpus_discover(int *ret, size_t max);

/* A slot: where one trial runs. cuda is its CUDA_VISIBLE_DEVICES ("" for a CPU slot). */
typedef struct {
    char cuda[WK_GPUS_MAX * 4];
    int gpus[WK_GPUS_MAX];
    size_t n_gpus;
} wk_slot;

/* n_gpus > 0: groups the GPUs into slots of per_trial each, in order (slot i gets gpus
 * i*per_trial ...); GPUs left over are not used. n_gpus == 0: `parallel` CPU slots. With GPUs,
 * parallel > 0 caps the number of slots. HPO_E_INVALID when there are fewer GPUs than per_trial.
 * *ret (owned, free) holds *ret_n slots. */
hpo_rc wk_slots_make(const int *gpus, size_t n_gpus, int per_trial, int parallel, wk_slot **ret,
                     size_t *ret_n, hpo_error *err);

#endif
