#include "sched/qos.h"
