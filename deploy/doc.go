// Package deploy holds the test of the docker-compose deployment
// (docker-compose.yml, scripts/deploy.sh, images/deploy): `make up` brings
// the stack up, a gateway joins, a session opens through the published
// entry, and `make down` then `make up` keep users, repos and nodes.
package deploy
