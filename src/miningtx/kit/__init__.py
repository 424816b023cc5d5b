"""Small shared pieces every domain uses: money, ids, errors, db, pagination, clock."""
