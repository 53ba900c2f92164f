/* cmd_token: the `hpo-server token …` subcommand (create, list, revoke tokens in the database). */
#ifndef HPO_CMD_TOKEN_H
#define HPO_CMD_TOKEN_H

/* argv[0] is "token"; returns the process exit status. */
int hpo_server_token_main(int argc, char **argv);

#endif
