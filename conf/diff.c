#include "conf/diff.h"
