/* The plumb subcommands (one cmd_<name>.c each). */
#ifndef PLUMB_COMMANDS_H
#define PLUMB_COMMANDS_H

#include "cli.h"

int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_resources(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);

#endif
