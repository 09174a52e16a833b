"""Operations routing and technician visits."""
