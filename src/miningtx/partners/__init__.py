"""Partners: referral codes and partner rewards."""
