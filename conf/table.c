#include "conf/table.h"
