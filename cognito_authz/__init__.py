"""cognito-authz: may the caller holding this Cognito token do this?"""
