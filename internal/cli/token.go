package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"bootd/internal/api/auth"
	"bootd/internal/config"
)

func tokenCommand() *command {
	return &command{
		name:     "token",
		synopsis: "create|list|revoke (--config FILE | --tokens FILE) [--name NAME] [--role read-only|admin]",
		summary:  "create, list and revoke the HTTP API's tokens",
		doc: `Token manages the tokens of the HTTP API, kept in the token file named by
the configuration's api section (its tokens key, by default api-tokens.json
in the lease store directory) or by --tokens. A running server sees the
changes at once.

  bootd token create --name NAME --role read-only|admin
      makes a token and prints it on standard output. It is shown only
      this once: the file keeps a salted hash of it.
  bootd token list
      lists the tokens: name, role, id and when they were made.
  bootd token revoke --name NAME   (or: bootd token revoke NAME)
      deletes a token; requests and sessions using it are refused from
      then on.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			cfgFile := fs.String("config", "", "the server's configuration `FILE` (its api tokens file is used)")
			tokensFile := fs.String("tokens", "", "the token `FILE`")
			name := fs.String("name", "", "the token's `NAME`: 1 to 64 of letters, digits and . _ @ -")
			role := fs.String("role", "", "the token's role (create): read-only or admin")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 0 {
					return usagef("want a subcommand: create, list or revoke")
				}
				// revoke's name may be given as an argument.
				sub, rest := args[0], args[1:]
				switch sub {
				case "create", "list":
					if len(rest) > 0 {
						return usagef("unexpected argument %q", rest[0])
					}
				case "revoke":
					switch {
					case len(rest) > 1 || len(rest) == 1 && *name != "":
						return usagef("unexpected argument %q", rest[len(rest)-1])
					case len(rest) == 1:
						*name = rest[0]
					}
				default:
					return usagef("unknown subcommand %q: want create, list or revoke", sub)
				}
				if sub != "create" && *role != "" {
					return usagef("--role is for create only")
				}
				if sub == "list" && *name != "" {
					return usagef("--name is not for list")
				}
				path, err := tokenFile(*cfgFile, *tokensFile)
				if err != nil {
					return err
				}
				tokens := auth.OpenTokens(path)
				switch sub {
				case "create":
					if *name == "" || *role == "" {
						return usagef("create needs --name and --role")
					}
					r, err := auth.ParseRole(*role)
					if err != nil {
						return usagef("--role: %v", err)
					}
					tok, err := tokens.Create(*name, r)
					if err != nil {
						return err
					}
					if _, err := fmt.Fprintln(e.stdout, tok); err != nil {
						return err
					}
					fmt.Fprintf(e.stderr, "bootd token: token %q (%s) written to %s; it is shown only this once\n", *name, r, path)
					return nil
				case "list":
					list, err := tokens.List()
					if err != nil {
						return err
					}
					return printTokens(e, list)
				default: // revoke
					if *name == "" {
						return usagef("revoke needs --name (or the name as an argument)")
					}
					if err := tokens.Revoke(*name); err != nil {
						return err
					}
					fmt.Fprintf(e.stderr, "bootd token: token %q revoked\n", *name)
					return nil
				}
			}
		},
	}
}

// tokenFile returns the token file named by --tokens, or by the
// configuration's api section.
func tokenFile(cfgFile, tokensFile string) (string, error) {
	switch {
	case cfgFile != "" && tokensFile != "":
		return "", usagef("give --config or --tokens, not both")
	case tokensFile != "":
		return tokensFile, nil
	case cfgFile != "":
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return "", fmt.Errorf("configuration refused:\n%w", err)
		}
		if cfg.API == nil {
			return "", fmt.Errorf("%s has no api section; add one or pass --tokens", cfgFile)
		}
		return cfg.API.Tokens, nil
	}
	return "", usagef("--config or --tokens is required")
}

func printTokens(e *env, list []auth.TokenInfo) error {
	if len(list) == 0 {
		fmt.Fprintln(e.stderr, "bootd token: no tokens")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tID\tCREATED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Role, t.ID, t.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
