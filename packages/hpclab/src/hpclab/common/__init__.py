"""Small, pure pieces that both the hub side and the Lab side need."""
