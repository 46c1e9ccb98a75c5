#include "pipeline/steps/register_model_step.h"
