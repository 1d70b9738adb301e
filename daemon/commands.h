/* The plumb subcommands (one cmd_<name>.c each). */
#ifndef PLUMB_COMMANDS_H
#define PLUMB_COMMANDS_H

#include "cli.h"

int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_resources(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_drift(struct cli *cli, int argc, char **argv);
int cmd_controls(struct cli *cli, int argc, char **argv);
int cmd_findings(struct cli *cli, int argc, char **argv);
int cmd_posture(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_scan(struct cli *cli, int argc, char **argv);

#endif
