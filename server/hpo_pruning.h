/* hpo_pruning: a study's pruner configuration: JSON in, validated, canonical JSON out. */
#ifndef HPO_PRUNING_H
#define HPO_PRUNING_H

#include "hpo_error.h"
#include "hpo_model.h"
#include "hpo_pruner.h"

/* Reads the pruner of a study (text: the user's JSON object, NULL for {"type":"none"}). Unknown
 * types or options and out-of-range values are HPO_E_INVALID naming "pruner.<option>"; pruners
 * other than none need a single objective. *ret_text (may be NULL) receives the canonical JSON
 * with every option spelled out (owned). *ret owned: hpo_pruner_config_clear. */
hpo_rc hpo_pruner_configure(const char *text, const hpo_study_config *study,
                            hpo_pruner_config *ret, char **ret_text, hpo_error *err);

#endif
