#include "pipeline/steps/training_step.h"
