package deps
import (
 _ "github.com/golang-jwt/jwt/v5"
 _ "github.com/go-jose/go-jose/v4"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/go-sql-driver/mysql"
 _ "github.com/redis/go-redis/v9"
 _ "modernc.org/sqlite"
 _ "golang.org/x/crypto/argon2"
 _ "golang.org/x/crypto/bcrypt"
 _ "golang.org/x/oauth2"
 _ "github.com/chromedp/chromedp"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "go.yaml.in/yaml/v3"
)
