//go:build tools

package marquee

import (
	_ "github.com/disintegration/imaging"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/labstack/echo/v4"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/image/webp"
	_ "golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite"
)
