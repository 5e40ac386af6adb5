package config

// AdminConfig is the admin dashboard at /admin (internal/admin). It is on
// when a password is set here or API keys are (--api-keys): a key logs in
// like the password does, and works as a Bearer key.
type AdminConfig struct {
	// Password logs in to /admin; "": only API keys do. At least 12
	// characters.
	Password string
}

func registerAdmin(fs *flagSet, c *AdminConfig) {
	fs.Secret(&c.Password, "admin-password", "password of the admin dashboard at /admin (it is off without this and without --api-keys)")
}

func (c AdminConfig) validate() error {
	if c.Password != "" && len(c.Password) < 12 {
		return invalid("--admin-password: want at least 12 characters") // never the value
	}
	return nil
}
