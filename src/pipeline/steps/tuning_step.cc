#include "pipeline/steps/tuning_step.h"
