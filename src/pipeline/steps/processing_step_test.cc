#include "pipeline/steps/processing_step.h"
