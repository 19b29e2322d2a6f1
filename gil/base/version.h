#ifndef VERSION_H
#define VERSION_H
#define GILLAB_VERSION "0.1.0"
#endif
